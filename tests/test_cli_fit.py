"""`python -m grpodx fit` end to end on the tiny model, and resuming from its checkpoint."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from grpodx.cli import main
from tests.run_helpers import scalars

ROOT = Path(__file__).resolve().parents[1]


def fit(tmp_path, model_cache, *extra):
    main(
        [
            "fit",
            "--config",
            str(ROOT / "configs" / "tiny.yaml"),
            f"--trainer.default_root_dir={tmp_path}",
            f"--model.policy.cache_dir={model_cache}",
            "--trainer.enable_progress_bar=false",
            *extra,
        ]
    )
    runs = sorted((tmp_path / "lightning_logs").glob("version_*"))
    return runs[-1]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, model_cache):
    return fit(tmp_path_factory.mktemp("fit"), model_cache)


def test_fit_writes_scalars_transcripts_adapters_and_small_checkpoints(tiny_run):
    logged = scalars(tiny_run)
    for tag in [
        "train/reward",
        "train/reward_std",
        "reward/credit",
        "reward/format",
        "reward/questions",
        "train/accuracy",
        "train/turns",
        "train/loss",
        "train/kl",
        "train/clip_fraction",
        "train/clip_ratio/low_mean",
        "train/clip_ratio/high_mean",
        "train/grad_norm",
        "train/learning_rate",
        "train/entropy",
        "train/completions/mean_length",
        "train/completions/max_length",
        "train/completions/clipped_ratio",
        "train/zero_variance_groups",
        "train/tokens",
        "time/rollout_s",
        "time/update_s",
        "val/accuracy",
        "val/credit",
    ]:
        assert tag in logged, tag
    assert len(logged["train/reward"]) == 4
    assert "hp_metric" not in logged  # TensorBoard's empty default scalar
    assert all(v > 0 for v in logged["train/learning_rate"]) and all(v > 0 for v in logged["train/entropy"])
    assert all(0 <= v <= 1 for v in logged["train/completions/clipped_ratio"])
    assert any(tag.startswith("transcripts/train") for tag in logged["__text__"])
    final = tiny_run / "adapters" / "final"
    config = json.loads((final / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA" and config["r"] == 8
    weights = load_file(final / "adapter_model.safetensors")
    lora_b = [v for k, v in weights.items() if "lora_B" in k]
    assert lora_b and any(v.abs().sum() > 0 for v in lora_b)  # B starts at zero: training moved it
    assert (tiny_run / "adapters" / "step_000002" / "adapter_model.safetensors").exists()
    checkpoint = torch.load(tiny_run / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["state_dict"] and all("lora_" in k for k in checkpoint["state_dict"])  # no frozen base
    assert checkpoint["global_step"] == 4


def test_hparams_are_plain_yaml_and_adapters_carry_a_model_card(tiny_run):
    import yaml

    hparams = yaml.safe_load((tiny_run / "hparams.yaml").read_text())  # no !!python/tuple
    assert hparams["optim"]["betas"] == [0.9, 0.99]
    final = tiny_run / "adapters" / "final"
    assert json.loads((final / "adapter_config.json").read_text())["base_model_name_or_path"] == "grpodx/tiny-phi3"  # not a cache path
    card = (final / "README.md").read_text()
    for said in ["Base model: `grpodx/tiny-phi3`", "Training data: `builtin`", "Optimizer steps: 4", "| val/accuracy |", "| train/reward |"]:
        assert said in card, said


def test_predict_writes_its_records_into_the_run_it_evaluates(tiny_run, tmp_path, model_cache, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no --trainer.default_root_dir: the current folder, which must stay empty
    main(
        [
            "predict",
            "--config",
            str(ROOT / "configs" / "tiny.yaml"),
            f"--model.policy.cache_dir={model_cache}",
            "--trainer.enable_progress_bar=false",
            "--data.max_eval_cases=2",
            f"--ckpt_path={tiny_run / 'checkpoints' / 'last.ckpt'}",
        ]
    )
    assert list(tmp_path.iterdir()) == []  # no new lightning_logs/version_N: the newest stays the training run
    run = tiny_run / "evaluations" / "predict_0"
    records = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
    assert len(records) == 2 and {"case", "truth", "diagnosis", "status", "credit", "reward", "transcript"} <= set(records[0])
    # one record of an episode: a prediction holds every field of a transcript line
    evaluated = json.loads(sorted((tiny_run / "transcripts").glob("val_step_*.jsonl"))[0].read_text().splitlines()[0])
    assert set(evaluated) - {"stage"} <= set(records[0])
    assert all(r["transcript"] for r in records)
    out = capsys.readouterr().out
    assert f"wrote to {run}:" in out and f"  {run / 'predictions.jsonl'}" in out


def test_test_lands_in_the_run_prints_whole_metric_names_and_what_it_wrote(tiny_run, tmp_path, model_cache, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    command = ["test", "--config", str(ROOT / "configs" / "tiny.yaml"), f"--model.policy.cache_dir={model_cache}",
               "--trainer.enable_progress_bar=false", "--data.max_eval_cases=2", f"--ckpt_path={tiny_run / 'checkpoints' / 'last.ckpt'}"]  # fmt: skip
    main(command)
    first = capsys.readouterr().out
    main(command)
    second = capsys.readouterr().out
    runs = [tiny_run / "evaluations" / "test_0", tiny_run / "evaluations" / "test_1"]  # one folder per evaluation, in the run
    for run, out in zip(runs, (first, second)):
        assert (run / "results" / "test.json").is_file() and (run / "transcripts" / "test.jsonl").is_file()
        assert f"wrote to {run}:" in out and f"  {run / 'results' / 'test.json'}" in out and f"  {run / 'transcripts' / 'test.jsonl'}" in out
    assert "test/by_system/" in first and "…" not in first  # metric names whole, as logged
    assert list(tmp_path.iterdir()) == []


def test_saved_config_is_the_full_recipe(tiny_run):
    text = (tiny_run / "config.yaml").read_text()
    for key in ["group_size", "epsilon_high", "max_turns", "lora", "scale_rewards", "aggregation", "save_steps"]:
        assert key in text


def test_resume_continues_at_the_right_step_with_the_same_weights(tiny_run, tmp_path, model_cache):
    from grpodx.train.module import DoctorGRPO

    ckpt = tiny_run / "checkpoints" / "epoch=0-step=2.ckpt"
    saved = torch.load(ckpt, weights_only=False)
    assert saved["global_step"] == 2
    seen = {}
    original = DoctorGRPO.on_train_start

    def capture(self):
        seen["step"] = self.trainer.global_step
        seen["weights"] = {k: v.clone() for k, v in self.state_dict().items() if k in saved["state_dict"]}
        original(self)

    DoctorGRPO.on_train_start = capture
    try:
        run = fit(tmp_path, model_cache, f"--ckpt_path={ckpt}")
    finally:
        DoctorGRPO.on_train_start = original
    assert seen["step"] == 2
    assert all(torch.equal(seen["weights"][k], v) for k, v in saved["state_dict"].items())
    assert len(scalars(run)["train/reward"]) == 2  # steps 3 and 4 only
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == 4
    # the "before" belongs to the first run; the resumed one validates only at its own interval
    assert [p.name for p in sorted((tiny_run / "results").glob("val_step_*"))] == ["val_step_000000.json", "val_step_000004.json"]
    assert [p.name for p in sorted((run / "results").glob("val_step_*"))] == ["val_step_000004.json"]


def test_print_config_shows_every_knob():
    out = subprocess.run(
        [sys.executable, "-m", "grpodx", "fit", "--config", str(ROOT / "configs" / "tiny.yaml"), "--print_config"], capture_output=True, text=True, check=True
    ).stdout
    for key in [
        "epsilon_low",
        "beta",
        "mu",
        "micro_batch_size",
        "group_size",
        "max_new_tokens",
        "w_format",
        "w_turn",
        "lr",
        "warmup_steps",
        "variants_per_disease",
        "split_by",
    ]:
        assert f"{key}:" in out, key


def test_the_before_validation_sees_the_warmed_up_doctor(tmp_path, model_cache):
    """fit's "before" (val_step_000000) comes after the warm-up: GRPO's own gain is the after
    against it. The same validation of the exported warm-up adapter gives the same answers,
    and the untrained doctor gives others."""
    run = fit(tmp_path / "fit", model_cache, "--warmup.steps=4", "--warmup.lr=5e-3", "--trainer.max_steps=1", "--trainer.val_check_interval=1")

    def answers(path):
        return [json.loads(line)["messages"][2:] for line in path.read_text().splitlines()]

    def validate(root, *extra):
        main(["validate", "--config", str(ROOT / "configs" / "tiny.yaml"), f"--trainer.default_root_dir={root}",
              f"--model.policy.cache_dir={model_cache}", "--trainer.enable_progress_bar=false", *extra])  # fmt: skip
        return answers(next((root / "evaluations").glob("validate_*/transcripts/*.jsonl")))

    before = answers(run / "transcripts" / "val_step_000000.jsonl")
    assert before == validate(tmp_path / "warm", f"--model.policy.adapter_path={run / 'adapters' / 'warmup'}")
    assert before != validate(tmp_path / "base")
    assert scalars(run)["time/warmup_step_s"][0] > 0  # the warm-up reports its seconds a step (docs/results-inquiry.md)
