"""Evaluation end to end on the tiny model: fit's own "before", test before and after on the same
cases, an external AgentClinic file, and the HTML report rendered in headless Chromium."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from grpodx.cli import main

ROOT = Path(__file__).resolve().parents[1]
AGENTCLINIC = ROOT / "tests" / "fixtures" / "agentclinic_osce.jsonl"


def run(command, root, model_cache, *extra):
    """Run a command; the folder it wrote: fit's newest lightning_logs/version_N, an evaluation's
    newest root/evaluations/<command>_<n>."""
    main(
        [
            command,
            "--config",
            str(ROOT / "configs" / "tiny.yaml"),
            f"--trainer.default_root_dir={root}",
            f"--model.policy.cache_dir={model_cache}",
            "--trainer.enable_progress_bar=false",
            *extra,
        ]
    )
    if command == "fit":
        return sorted((root / "lightning_logs").glob("version_*"), key=lambda p: int(p.name.split("_")[1]))[-1]
    return sorted(root.glob(f"evaluations/{command}_*"), key=lambda p: int(p.name.rsplit("_", 1)[1]))[-1]


def result(folder, stage):
    return json.loads((folder / "results" / f"{stage}.json").read_text())


def transcripts(folder, stage):
    return [json.loads(line) for line in (folder / "transcripts" / f"{stage}.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, model_cache):
    """A 2-step fit (validating at steps 0 and 2), then test on the base model, on its checkpoint
    and on its exported adapter."""
    root = tmp_path_factory.mktemp("eval")
    fitted = run("fit", root / "fit", model_cache, "--trainer.max_steps=2", "--trainer.val_check_interval=2", "--results.train_every_n_steps=1")
    base = run("test", root / "base", model_cache)
    ckpt = run("test", root / "ckpt", model_cache, f"--ckpt_path={fitted / 'checkpoints' / 'last.ckpt'}")
    adapter = run("test", root / "adapter", model_cache, f"--model.policy.adapter_path={fitted / 'adapters' / 'final'}")
    # --trainer.default_root_dir says where: each evaluation in its own folder's evaluations/
    assert [base, ckpt, adapter] == [root / name / "evaluations" / "test_0" for name in ("base", "ckpt", "adapter")]
    return {"fit": fitted, "base": base, "ckpt": ckpt, "adapter": adapter}


def test_fit_validates_before_the_first_step_and_after_training(runs):
    fitted = runs["fit"]
    before, after = result(fitted, "val_step_000000"), result(fitted, "val_step_000002")
    assert before["step"] == 0 and after["step"] == 2
    assert before["case_ids"] == after["case_ids"] and len(before["case_ids"]) == 4  # max_eval_cases
    for figure in ["accuracy", "accuracy@3", "credit", "diagnosed", "format", "leak", "env_error"]:
        low, value, high = (before["intervals"][figure][k] for k in ("low", "value", "high"))
        assert low <= value <= high and value == pytest.approx(before["metrics"][figure]), figure
    assert any(k.startswith("by_system/") for k in before["metrics"])
    # what asking bought: the first-turn pass runs in fit's validations, the other budgets do not
    for figure in ["accuracy_open", "asking_gain", "question_yield", "repeated_questions", "accuracy_by_turns/1"]:
        assert figure in before["metrics"] and figure in before["intervals"], figure
    assert not any(k.startswith("accuracy_by_turns/") and k != "accuracy_by_turns/1" for k in before["metrics"])
    assert "key_fact_recall" not in before["metrics"]  # the bank's cases mark no key facts
    assert before["tests"]["asking_gain"]["pairs"] == 4
    lines = transcripts(fitted, "val_step_000000")
    assert sorted(r["case"] for r in lines) == before["case_ids"]
    first = lines[0]
    assert first["messages"][0]["role"] == "system" and first["dialogue"][0]["role"] == "patient"
    assert {"truth", "diagnosis", "differential", "credit", "turns", "status"} <= set(first)
    train = transcripts(fitted, "train")
    assert {r["step"] for r in train} == {1, 2} and len(train) == 2 * 2 * 4  # steps x cases x group


def test_test_before_and_after_on_the_same_cases(runs):
    base, ckpt, adapter = (result(runs[k], "test") for k in ("base", "ckpt", "adapter"))
    assert base["case_ids"] == ckpt["case_ids"] == adapter["case_ids"]
    assert base["ckpt_path"] is None and ckpt["ckpt_path"].endswith("last.ckpt")
    assert adapter["adapter_path"].endswith("final")
    assert base["config_digest"] == ckpt["config_digest"] != adapter["config_digest"]  # the adapter is config
    # the checkpoint and the adapter exported at the same step are the same trained doctor
    assert ckpt["metrics"] == adapter["metrics"]
    said = lambda folder: [(r["case"], r["messages"]) for r in transcripts(folder, "test")]  # noqa: E731
    assert said(runs["ckpt"]) == said(runs["adapter"])


def test_test_measures_accuracy_at_every_turn_budget(runs, tmp_path, model_cache):
    out, lines = result(runs["base"], "test"), transcripts(runs["base"], "test")
    budgets = [f"accuracy_by_turns/{b}" for b in (1, 2, 3)]  # tiny.yaml: max_turns 3
    for figure in budgets:
        low, value, high = (out["intervals"][figure][k] for k in ("low", "value", "high"))
        assert low <= value <= high and value == pytest.approx(out["metrics"][figure]), figure
    assert out["metrics"]["accuracy_open"] == out["metrics"]["accuracy_by_turns/1"]
    solved = [r["correct"] and r["status"] == "diagnosed" for r in lines]
    for b in (1, 2, 3):  # each budget's figure is the mean of its paired episodes, failures as wrong
        assert out["metrics"][f"accuracy_by_turns/{b}"] == pytest.approx(sum(r["by_turns"][str(b)]["correct"] for r in lines) / len(lines))
    gain = sum(s - r["values"]["accuracy_open"] for s, r in zip(solved, lines)) / len(lines)
    assert out["metrics"]["asking_gain"] == pytest.approx(gain)
    assert out["tests"]["asking_gain"]["pairs"] == len(lines) and 0 < out["tests"]["asking_gain"]["p"] <= 1
    # model.eval_turn_budgets=off keeps only the first-turn pass, on the same episodes
    off = run("test", tmp_path, model_cache, "--model.eval_turn_budgets=off")
    cheap = result(off, "test")
    assert [k for k in cheap["metrics"] if k.startswith("accuracy_by_turns/")] == ["accuracy_by_turns/1"]
    assert cheap["metrics"]["accuracy_open"] == out["metrics"]["accuracy_open"] and cheap["metrics"]["accuracy"] == out["metrics"]["accuracy"]


def test_external_agentclinic_cases_are_the_test_set(tmp_path, model_cache):
    folder = run("test", tmp_path, model_cache, f"--data.test_cases=agentclinic:{AGENTCLINIC}")
    lines = transcripts(folder, "test")
    expected = len(AGENTCLINIC.read_text().splitlines())
    assert len(lines) == expected == result(folder, "test")["cases"]
    assert {r["source"] for r in lines} == {"agentclinic"}  # not the built-in test split


def test_inquiry_test_cases_get_key_fact_recall_with_its_interval(tmp_path, model_cache):
    folder = run("test", tmp_path, model_cache, "--data.test_cases=inquiry", "--model.eval_turn_budgets=off")
    out, lines = result(folder, "test"), transcripts(folder, "test")
    assert {r["source"] for r in lines} == {"inquiry"} and all(r["key_facts"] for r in lines)
    assert set(out["intervals"]["key_fact_recall"]) == {"value", "low", "high"}
    shown = [len(set(r["key_facts"]) & set(r["revealed_facts"])) / len(r["key_facts"]) for r in lines]
    assert out["metrics"]["key_fact_recall"] == pytest.approx(sum(shown) / len(shown))


def test_samples_per_case_give_pass_at_n(tmp_path, model_cache):
    folder = run(
        "test", tmp_path, model_cache, f"--data.test_cases=agentclinic:{AGENTCLINIC}", "--model.rollout.eval_samples=2", "--model.rollout.eval_temperature=1.0"
    )
    out = result(folder, "test")
    assert out["episodes"] == 2 * out["cases"] and out["samples_per_case"] == 2
    assert "pass@2" in out["metrics"] and "pass@2" in out["intervals"]
    assert sorted({r["sample"] for r in transcripts(folder, "test")}) == [0, 1]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("the report test needs Debian's chromium: apt-get install -y chromium (as .ci/run does)")
    return found


def render(page: Path, tmp_path: Path) -> tuple[dict[str, int], Path]:
    """Load the page in headless Chromium: what its check script counted, and a screenshot."""
    browser = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*browser, "--virtual-time-budget=5000", "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, check=True).stdout
    check = re.search(r'<span id="render-check"([^>]*)>', dom)
    assert check, "the page's check script did not run"
    counts = {k: int(v) for k, v in re.findall(r'data-(\w+)="(\d+)"', check.group(1))}
    shot = tmp_path / f"{page.stem}.png"
    subprocess.run([*browser, "--window-size=1200,3000", f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120, check=True)
    return counts, shot


@pytest.mark.slow  # launches Chromium
def test_report_of_a_fit_run_renders_in_chromium(runs, tmp_path):
    page = tmp_path / "fit.html"
    assert main_report([str(runs["fit"]), "--out", str(page)]) == 0
    text = page.read_text()
    assert "http://" not in text and "https://" not in text and 'src="data:image/png;base64,' in text
    headings = ["Training curves", "Before and after", "Accuracy by body system", "Turns per episode", "What asking bought", "Most common wrong diagnoses"]
    for heading in [*headings, "Sample transcripts"]:
        assert heading in text, heading
    assert "McNemar" in text and "paired bootstrap" in text and "<details><summary>reasoning" in text
    counts, shot = render(page, tmp_path)
    assert counts["images"] == counts["decoded"] == 3  # curves, body systems, turns
    assert counts["rows"] >= 9 + 1 + 1  # headline metrics, a body system, a wrong diagnosis
    assert "only budget 1 was evaluated" in text  # fit's validations skip the other budgets
    assert "val/accuracy_open" in runs_curves(runs["fit"])  # drawn beside val/accuracy
    assert shot.stat().st_size > 20_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_compares_two_test_runs_on_the_same_cases(runs, tmp_path):
    page = tmp_path / "compare.html"
    assert main_report([str(runs["ckpt"]), "--compare", str(runs["base"]), "--out", str(page)]) == 0
    text = page.read_text()
    assert "same 4 cases" in text and "before: " in text and "after: " in text
    assert "Accuracy by turn budget" in text and text.count("right only after asking") == 2  # before and after
    counts, _ = render(page, tmp_path)
    assert counts["images"] == counts["decoded"] == 3  # no training curves in test-only runs; body systems, turns, turn budgets
    # --curves draws the training curves of the fit that made the evaluated weights
    assert main_report([str(runs["ckpt"]), "--compare", str(runs["base"]), "--curves", str(runs["fit"]), "--out", str(page)]) == 0
    assert render(page, tmp_path)[0]["images"] == 4


def test_report_names_a_folder_without_results(tmp_path, capsys):
    assert main_report([str(tmp_path)]) == 2
    assert f"{tmp_path}: no results/ folder" in capsys.readouterr().out


def runs_curves(folder):
    from grpodx.tools.runs import read_curves

    return read_curves(folder)


def main_report(argv):
    from grpodx.tools.report import main as report

    return report(argv)
