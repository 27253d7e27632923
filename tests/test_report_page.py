"""The report page's parts on hand-made evaluations (no model): labels, axes, charts, header."""

from pathlib import Path

from grpodx.tools.report_page import curves_figure, render, turns_figure
from grpodx.tools.runs import Evaluation, Run, before_after


def record(case: str, turns: int, correct: bool, status: str = "diagnosed") -> dict:
    scored = status in ("diagnosed", "out_of_turns")
    values = {"accuracy": float(correct) if scored else None, "credit": float(correct) if scored else None, "turns": float(turns) if scored else None}
    return {
        "case": case, "sample": 0, "truth": "Asthma", "diagnosis": "Asthma" if correct else "Croup", "body_system": "respiratory",
        "status": status, "correct": correct, "credit": float(correct), "turns": turns, "reward": float(correct), "values": values,
        "messages": [{"role": "system", "content": "rules"}, {"role": "user", "content": "I wheeze."}, {"role": "assistant", "content": "DIAGNOSIS: Asthma"}],
    }  # fmt: skip


def evaluation(run: Path, stage: str, records: list[dict], name: str = "") -> Evaluation:
    result = {
        "cases": len(records),
        "intervals": {},
        "samples_per_case": 1,
        "temperature": 0.0,
        "step": 4,
        "config_digest": "abc",
        "ckpt_path": None,
        "adapter_path": None,
    }
    return Evaluation(run, stage, result, records, name=name)


def fit_run(tmp_path: Path, label: str = "") -> Run:
    folder = tmp_path / "lightning_logs" / "version_0"
    before = evaluation(folder, "val_step_000000", [record("a", 1, False), record("b", 2, False)], label)
    after = evaluation(folder, "val_step_000004", [record("a", 2, True), record("b", 2, False)], label)
    curves = {
        "train/reward": [(0, 0.1), (1, 0.3)],
        "train/accuracy": [(0, 0.5), (1, 0.5)],
        "train/kl": [(0, 0.0), (1, 0.01)],
        "train/zero_variance_groups": [(0, 0.5), (1, 0.0)],
        "train/reward_std": [(0, 0.2), (1, 0.3)],
        "train/turns": [(0, 2.0), (1, 2.5)],
    }
    return Run(folder, {e.stage: e for e in (before, after)}, curves)


def test_labels_name_the_run_and_the_stage_in_words(tmp_path):
    before, after = before_after(fit_run(tmp_path, "tuned"), None)
    assert before is not None
    before.role, after.role = "before", "after"
    assert (before.label, after.label) == ("before: tuned (validation at step 0)", "after: tuned (validation at step 4)")
    unnamed = fit_run(tmp_path).evaluations["val_step_000004"]
    assert unnamed.label == "version_0 (validation at step 4)"  # not lightning_logs/version_0/val_step_000004


def test_curves_show_kl_zero_variance_std_and_length_with_rates_on_a_unit_axis(tmp_path):
    drawn = curves_figure(fit_run(tmp_path))
    assert drawn is not None
    fig, shown = drawn
    assert list(shown) == ["Reward", "Accuracy", "Reward std", "Zero-variance groups", "KL to the base model", "Episode length (doctor turns)"]
    axes = {ax.get_title(): ax for ax in fig.axes if ax.get_visible()}
    for rate in ("Accuracy", "Zero-variance groups"):
        assert axes[rate].get_ylim() == (-0.02, 1.02), rate  # a flat 0.5 stays flat
    assert axes["Reward"].get_ylim() != (-0.02, 1.02)
    assert len(axes) == 6 and len(fig.axes) == 6  # the grid's unused last panel is hidden, not drawn empty


def test_turn_bars_are_integers_side_by_side(tmp_path):
    run = fit_run(tmp_path)
    drawn = turns_figure(list(run.evaluations.values()))
    assert drawn is not None
    fig, turns, counts = drawn
    assert turns == [1, 2] and [dict(c) for c in counts] == [{1: 1, 2: 1}, {2: 2}]
    (ax,) = fig.axes
    lefts = sorted(round(bar.get_x(), 3) for bar in ax.patches)
    widths = {round(bar.get_width(), 3) for bar in ax.patches}
    assert widths == {0.4} and lefts == [0.6, 1.0, 1.6, 2.0]  # two bars per turn count, touching, none hiding another
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2"]


def test_page_has_no_empty_charts_no_internals_and_real_alt_text(tmp_path):
    run = fit_run(tmp_path, "tuned")
    failed = evaluation(run.path, "test", [record("a", 0, False, "env_error")], "tuned")
    page = render(Run(run.path, {"test": failed}, {}), None, failed, seed=0)
    assert "No scored episodes" in page and page.count("<img") == 0  # messages, not empty axes
    before, after = before_after(run, None)
    page = render(run, before, after, seed=0)
    assert "adapter None" not in page and "checkpoint None" not in page and "plots shown" not in page
    assert 'alt="plot"' not in page and 'alt="Training curves by optimizer step: Reward (train/reward)' in page
    assert "<h1>grpodx report: tuned (validation at step 4)</h1>" in page


def test_a_folder_of_runs_finds_evaluations_but_curves_come_from_training_runs(tmp_path):
    import os

    from grpodx.tools.runs import _newest, find_run

    fit = tmp_path / "lightning_logs" / "version_0"
    evaluation = fit / "evaluations" / "test_0"
    for folder in (fit, evaluation):
        (folder / "results").mkdir(parents=True)
        (folder / "events.out.tfevents.1").write_text("")
    os.utime(evaluation, (2e9, 2e9))  # the evaluation is the newer
    assert find_run(tmp_path) == evaluation
    events = lambda p: any(p.glob("events.out.tfevents.*"))  # noqa: E731
    assert _newest(tmp_path, events, "no events", evaluations=False) == fit
