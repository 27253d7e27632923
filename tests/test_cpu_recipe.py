"""configs/cpu.yaml trains SmolLM2 offline: the README's main command, with small settings."""

from pathlib import Path

import torch
from safetensors.torch import load_file

from grpodx.cli import main

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--trainer.max_steps=1", "--trainer.limit_val_batches=1", "--trainer.enable_progress_bar=false",
         "--model.rollout.group_size=2", "--model.rollout.max_turns=2", "--model.rollout.max_new_tokens=12",
         "--model.grpo.micro_batch_size=2", "--data.batch_size=1", "--data.eval_batch_size=1", "--data.max_eval_cases=1"]  # fmt: skip


def test_cpu_recipe_trains_smollm2_offline(smollm2, model_cache, tmp_path):
    main(["fit", "--config", str(ROOT / "configs" / "cpu.yaml"), f"--trainer.default_root_dir={tmp_path}", f"--model.policy.cache_dir={model_cache}", *SMALL])
    run = sorted((tmp_path / "lightning_logs").glob("version_*"))[-1]
    weights = load_file(run / "adapters" / "final" / "adapter_model.safetensors")
    assert any(v.abs().sum() > 0 for k, v in weights.items() if "lora_B" in k)  # one GRPO step moved the adapter
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["global_step"] == 1
    assert list(run.glob("events.out.tfevents.*"))
