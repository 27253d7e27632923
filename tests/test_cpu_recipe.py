"""configs/cpu.yaml trains SmolLM2 offline (the README's main command, with small settings),
and the trained doctor chats through stdin."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from grpodx.cli import main

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--trainer.max_steps=1", "--trainer.limit_val_batches=1", "--trainer.enable_progress_bar=false",
         "--model.rollout.group_size=2", "--model.rollout.max_turns=2", "--model.rollout.max_new_tokens=12",
         "--model.grpo.micro_batch_size=2", "--data.batch_size=1", "--data.eval_batch_size=1", "--data.max_eval_cases=1"]  # fmt: skip


@pytest.mark.slow  # converts SmolLM2
def test_cpu_recipe_trains_smollm2_offline_and_chats(smollm2, model_cache, tmp_path):
    main(["fit", "--config", str(ROOT / "configs" / "cpu.yaml"), f"--trainer.default_root_dir={tmp_path}", f"--model.policy.cache_dir={model_cache}", *SMALL])
    run = sorted((tmp_path / "lightning_logs").glob("version_*"))[-1]
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
