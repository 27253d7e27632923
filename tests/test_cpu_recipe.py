"""configs/cpu.yaml trains SmolLM2 offline (the README's main command, with small settings): a
warm-up on inquiry cases with cluster-pool questions, then GRPO, ending with its before/after
line on the held-out patients; and the trained doctor chats through stdin."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from grpodx.cli import main

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--trainer.max_steps=1", "--trainer.val_check_interval=1", "--trainer.limit_val_batches=1", "--trainer.enable_progress_bar=false",
         "--warmup.steps=2", "--warmup.batch_size=2", "--data.variants_per_disease=2", "--model.eval_turn_budgets=off",
         "--model.rollout.group_size=2", "--model.rollout.max_turns=2", "--model.rollout.max_new_tokens=12",
         "--model.grpo.micro_batch_size=2", "--data.batch_size=1", "--data.eval_batch_size=1", "--data.max_eval_cases=1"]  # fmt: skip


@pytest.mark.slow  # converts SmolLM2
def test_cpu_recipe_trains_smollm2_offline_and_chats(smollm2, model_cache, tmp_path, caplog):
    with caplog.at_level("INFO"):
        main(
            ["fit", "--config", str(ROOT / "configs" / "cpu.yaml"), f"--trainer.default_root_dir={tmp_path}", f"--model.policy.cache_dir={model_cache}", *SMALL]
        )
    run = sorted((tmp_path / "lightning_logs").glob("version_*"))[-1]
    # the warm-up ran first, then the before (after warm-up) and after validations on the same patients
    assert (run / "adapters" / "warmup" / "adapter_model.safetensors").exists()
    assert sorted(p.name for p in (run / "results").glob("val_step_*.json")) == ["val_step_000000.json", "val_step_000001.json"]
    line = caplog.text[caplog.text.index("before/after on 1 held-out patients") :]
    assert "accuracy " in line and "asking_gain " in line and "key_fact_recall " in line and "p=" in line
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["global_step"] == 1 and checkpoint["hyper_parameters"]["policy"]["model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert all("lora_" in name for name in checkpoint["state_dict"]) and len(checkpoint["state_dict"]) == 30 * 7 * 2  # all-linear
    events = EventAccumulator(str(run))
    events.Reload()
    assert {"train/loss", "train/reward", "time/rollout_s", "time/update_s"} <= set(events.Tags()["scalars"])
    assert (run / "adapters" / "final" / "adapter_model.safetensors").exists()
    command = [
        sys.executable,
        "-m",
        "grpodx",
        "chat",
        "--ckpt",
        str(run / "checkpoints" / "last.ckpt"),
        "--cache-dir",
        model_cache,
        "--max-turns=1",
        "--max-new-tokens=16",
    ]
    done = subprocess.run(command, input="I have a cough.\n", capture_output=True, text=True, cwd=ROOT, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert "Doctor: " in done.stdout and done.stdout.rstrip().splitlines()[-1].startswith("Differential: ")
