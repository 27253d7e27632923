"""A new user's run: errors at the knob before any model loads, no stub folders, Ctrl-C and an
exact resume, a progress bar in optimizer steps, and the files a run leaves behind."""

import json
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from grpodx.cli import main
from grpodx.run.cli import join_negative_values
from grpodx.train.batches import ResumableBatches
from tests.case_helpers import case_record
from tests.run_helpers import scalars

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--trainer.limit_val_batches=0", "--model.rollout.max_turns=2", "--model.rollout.max_new_tokens=16", "--data.max_train_cases=6"]


def fit(root, cache, *extra, steps=3):
    main(
        [
            "fit",
            "--config",
            str(ROOT / "configs" / "tiny.yaml"),
            f"--trainer.default_root_dir={root}",
            f"--model.policy.cache_dir={cache}",
            f"--trainer.max_steps={steps}",
            *SMALL,
            *extra,
        ]
    )
    return sorted((Path(root) / "lightning_logs").glob("version_*"), key=lambda p: int(p.name.split("_")[1]))


def lora(run):
    return load_file(run / "adapters" / "final" / "adapter_model.safetensors")


def test_a_bad_value_names_its_key_before_any_model_loads(tmp_path, capsys):
    cache = tmp_path / "cache"
    with pytest.raises(SystemExit) as exit_:
        fit(tmp_path, cache, "--model.optim.lr", "-1e-3")  # a negative value after a space parses as a value
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == "error: model.optim.lr must be > 0, got -0.001"
    assert not cache.exists() and not (tmp_path / "lightning_logs").exists()  # no model built, no run folder


def test_negative_values_join_their_flag():
    assert join_negative_values(["--a", "-1e-3", "--b", "-2", "--c=-1", "--d", "x", "-5"]) == ["--a=-1e-3", "--b=-2", "--c=-1", "--d", "x", "-5"]


def test_a_run_that_fails_before_its_first_step_leaves_no_folder(tmp_path, model_cache, capsys):
    # an unreachable patient server: every episode of the first step is env_error, the run stops
    # with one paragraph and exit 1 (no traceback), and with no step done there is nothing to keep
    unreachable = [
        "--model.patient.model=openai/nobody",
        "--model.patient.api_base=http://127.0.0.1:9",
        "--model.patient.api_key=sk-x",
        "--model.patient.num_retries=0",
        "--model.patient.timeout=5",
    ]
    with pytest.raises(SystemExit) as stop:
        fit(tmp_path, model_cache, *unreachable)
    assert stop.value.code == 1
    err = capsys.readouterr().err
    assert "failed in the patient or judge" in err and "Traceback" not in err
    assert list((tmp_path / "lightning_logs").glob("version_*")) == []


@pytest.mark.slow  # three fits
def test_ctrl_c_saves_prints_how_to_resume_and_the_resumed_run_matches_an_uninterrupted_one(tmp_path, model_cache, capsys):
    # three turns of 32 tokens give the tiny doctor reward variance: every step below trains
    signal = ["--trainer.enable_progress_bar=false", "--model.rollout.max_turns=3", "--model.rollout.max_new_tokens=32"]
    (whole,) = fit(tmp_path / "whole", model_cache, *signal)
    interrupt = tmp_path / "ctrl_c.yaml"
    interrupt.write_text(yaml.safe_dump({"trainer": {"callbacks": [{"class_path": "tests.run_helpers.CtrlCAt", "init_args": {"step": 1}}]}}))
    (stopped,) = fit(tmp_path / "parts", model_cache, "--config", str(interrupt), *signal)
    out, _ = capsys.readouterr()
    last = stopped / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=False)["global_step"] == 1
    assert (stopped / "adapters" / "step_000001" / "adapter_model.safetensors").exists()
    assert f"resume with: python -m grpodx fit --config {stopped / 'config.yaml'} --ckpt_path {last}" in out
    _, resumed = fit(tmp_path / "parts", model_cache, f"--ckpt_path={last}", *signal)
    expected, got = lora(whole), lora(resumed)
    assert sum(float(v.abs().sum()) for k, v in expected.items() if "lora_B" in k) > 0  # the run trained: LoRA B moved off zero
    assert expected.keys() == got.keys() and all(torch.equal(expected[k], got[k]) for k in expected)  # exact on CPU
    steps = scalars(whole)["train/loss"]
    assert scalars(stopped)["train/loss"] + scalars(resumed)["train/loss"] == steps and len(steps) == 3


def test_batches_resume_where_they_stopped_and_differ_by_epoch():
    from grpodx.cases.jsonl import parse_case

    cases = [parse_case(case_record(f"c{i}"), "test") for i in range(7)]
    ids = lambda batches: [[c.id for c in b] for b in batches]  # noqa: E731
    run = ResumableBatches(cases, 2, seed=3)
    epoch0 = ids(run)
    assert len(run) == 4 and len(epoch0) == 4 and sorted(sum(epoch0, [])) == sorted(c.id for c in cases)
    assert ids(run) != epoch0  # the next epoch has its own order
    partial = ResumableBatches(cases, 2, seed=3)
    iterator = iter(partial)
    first = ids([next(iterator), next(iterator)])
    resumed = ResumableBatches(cases, 2, seed=3)
    resumed.load_state_dict(json.loads(json.dumps(partial.state_dict())))
    assert first + ids(resumed) == epoch0
    ranks = [ids(ResumableBatches(cases, 2, seed=3, rank=r, world_size=2)) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) == 2 and not set(sum(ranks[0], [])) & set(sum(ranks[1], []))


def test_half_written_checkpoints_left_by_a_kill_are_removed(tmp_path):
    """What AtomicCheckpointIO stages before its rename; a SIGKILL mid-save leaves it behind."""
    from grpodx.run.callbacks import AtomicCheckpointIO
    from grpodx.run.control import remove_staging

    AtomicCheckpointIO().save_checkpoint({"global_step": 2}, tmp_path / "last.ckpt")
    staged = [tmp_path / ".last.ckpt-k2j3h", tmp_path / ".step=4.ckpt-a1b2c"]
    for path in staged:
        path.write_bytes(b"partial")
    assert sorted(remove_staging(tmp_path)) == sorted(staged)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]
    assert remove_staging(tmp_path / "missing") == []


def test_a_bad_data_value_is_refused_before_any_model_loads(tmp_path, capsys):
    cache = tmp_path / "cache"
    with pytest.raises(SystemExit) as exit_:
        fit(tmp_path, cache, "--data.batch_size=0")
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == "error: data.batch_size must be >= 1, got 0"
    assert not cache.exists() and not (tmp_path / "lightning_logs").exists()  # the policy was never built


@pytest.mark.parametrize("command", ["fit", "validate", "test"])
def test_a_bad_case_file_is_one_line_before_any_model_loads(tmp_path, capsys, command):
    cases = tmp_path / "cases.jsonl"
    good = json.dumps(case_record("c1")).encode()
    cases.write_bytes(good + b"\n" + good.replace(b'"c1"', b'"c2"').replace(b"Pneumonia", b"Pneum\xffonia") + b"\n")
    cache = tmp_path / "cache"
    with pytest.raises(SystemExit) as exit_:
        main(
            [
                command,
                "--config",
                str(ROOT / "configs" / "tiny.yaml"),
                f"--trainer.default_root_dir={tmp_path}",
                f"--model.policy.cache_dir={cache}",
                f"--data.sources=[jsonl:{cases}]",
            ]
        )
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(f"error: {cases}:2")
    assert not cache.exists()  # refused before the policy was built


def test_a_resume_from_a_missing_checkpoint_says_so_in_one_line(tmp_path, capsys):
    cache, missing = tmp_path / "cache", tmp_path / "run" / "checkpoints" / "last.ckpt"
    missing.parent.mkdir(parents=True)
    (missing.parent / ".last.ckpt-k2j3h").write_bytes(b"partial")  # a kill mid-save: not a checkpoint
    with pytest.raises(SystemExit) as exit_:
        fit(tmp_path, cache, f"--ckpt_path={missing}")
    assert exit_.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"error: --ckpt_path {missing} does not exist, and {missing.parent} holds no complete checkpoint to resume from"
    assert not cache.exists()


def test_a_missing_last_checkpoint_falls_back_to_the_newest_complete_one(tmp_path, capsys):
    import os

    from grpodx.run.callbacks import AtomicCheckpointIO
    from grpodx.run.control import resolve_resume

    older, newer = tmp_path / "epoch=0-step=100.ckpt", tmp_path / "epoch=0-step=200.ckpt"
    for step, path in ((100, older), (200, newer)):
        AtomicCheckpointIO().save_checkpoint({"global_step": step}, path)
    os.utime(older, (1, 1))
    truncated = tmp_path / "epoch=0-step=300.ckpt"
    truncated.write_bytes(newer.read_bytes()[:100])  # copied in part: no zip directory at its end
    (tmp_path / ".last.ckpt-a1b2c").write_bytes(newer.read_bytes())  # staged, never renamed
    assert resolve_resume(tmp_path / "last.ckpt") == newer
    assert f"resuming from {newer}" in capsys.readouterr().out
    assert resolve_resume(older) == older and resolve_resume("last") == Path("last")  # given and present, or Lightning's own name


@pytest.mark.slow  # a fit of one step with a validation
def test_ctrl_c_on_a_checkpoint_step_writes_one_last_ckpt_and_no_validation(tmp_path, model_cache, capsys):
    interrupt = tmp_path / "ctrl_c.yaml"
    interrupt.write_text(yaml.safe_dump({"trainer": {"callbacks": [{"class_path": "tests.run_helpers.CtrlCAt", "init_args": {"step": 1}}]}}))
    on_step = [
        "--trainer.enable_progress_bar=false",
        "--checkpoint.every_n_train_steps=1",
        "--trainer.limit_val_batches=1",
        "--trainer.val_check_interval=2",  # not at step 1: a validation there would be the one the stop asks for
        "--model.validate_before_fit=false",
    ]
    (run,) = fit(tmp_path, model_cache, "--config", str(interrupt), *on_step)
    names = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert "last.ckpt" in names and not any(n.startswith("last-v") for n in names), names
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == 1
    assert list(run.glob("results/val_step_*.json")) == []  # Ctrl-C validates nothing more
