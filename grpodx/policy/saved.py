"""Open a trained doctor: a fit checkpoint (its policy config and trainable weights) or a PEFT adapter folder."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any

from grpodx.policy.model_card import AdapterCard
from grpodx.policy.policy import LoraConfig, Policy, PolicyConfig


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    # our own fit checkpoint: besides tensors it holds the loop and callback states
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    if "policy" not in checkpoint.get("hyper_parameters", {}):
        raise ValueError(f"{path} is not a grpodx fit checkpoint (no hyper_parameters.policy)")
    return checkpoint


def checkpoint_card(path: str | Path, checkpoint: dict[str, Any] | None = None) -> AdapterCard:
    """The model card of a fit checkpoint: its base model, optimizer steps and case sources, and the
    metrics of its run's latest evaluation (RUN/results/*.json beside RUN/checkpoints/)."""
    checkpoint = checkpoint or load_checkpoint(path)
    data = checkpoint.get("datamodule_hyper_parameters", {}).get("sources") or []
    card = AdapterCard(base_model=checkpoint["hyper_parameters"]["policy"]["model"], steps=int(checkpoint.get("global_step", 0)), data=list(data))
    card.metrics = latest_metrics(Path(path).expanduser().parent.parent / "results")
    return card


def latest_metrics(results: Path) -> dict[str, float]:
    """The headline metrics of the newest results file in a run's results/ folder, as `stage/metric`
    keys like the logger's (val_step_N counts as `val`); {} when there is none."""
    files = sorted(results.glob("*.json"), key=lambda p: p.stat().st_mtime) if results.is_dir() else []
    if not files:
        return {}
    result = json.loads(files[-1].read_text())
    stage = "val" if str(result.get("stage", "")).startswith("val") else str(result.get("stage", files[-1].stem))
    return {f"{stage}/{k}": float(v) for k, v in result.get("metrics", {}).items() if "/" not in k}


def policy_config(saved: dict[str, Any], **overrides: Any) -> PolicyConfig:
    """The PolicyConfig a checkpoint was trained with (keys this version lacks are dropped)."""
    known = {f.name for f in fields(PolicyConfig)} - {"lora"}
    lora = LoraConfig(**{k: v for k, v in saved.get("lora", {}).items() if k in {f.name for f in fields(LoraConfig)}})
    kept = {k: v for k, v in saved.items() if k in known}
    return PolicyConfig(**(kept | {"lora": lora, "adapter_path": None} | {k: v for k, v in overrides.items() if v is not None}))


def doctor_from_checkpoint(path: str | Path, **overrides: Any) -> Policy:
    checkpoint = load_checkpoint(path)
    policy = Policy(policy_config(checkpoint["hyper_parameters"]["policy"], **overrides))
    weights = {k.removeprefix("policy."): v for k, v in checkpoint["state_dict"].items() if k.startswith("policy.")}
    missing, unexpected = policy.load_state_dict(weights, strict=False)
    trainable = {name for name, p in policy.named_parameters() if p.requires_grad}
    lacking = sorted(trainable & set(missing))
    if lacking or unexpected:
        raise ValueError(f"{path} does not fit its own policy config: lacks {lacking[:3]}, has unknown {unexpected[:3]}")
    return policy


def doctor_from_adapter(folder: str | Path, model: str | None = None, **overrides: Any) -> Policy:
    """A PEFT adapter folder on its base model (the one named in adapter_config.json unless `model`)."""
    config_file = Path(folder) / "adapter_config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"{folder} is not a PEFT adapter folder (no adapter_config.json)")
    base = model or json.loads(config_file.read_text())["base_model_name_or_path"]
    return Policy(PolicyConfig(model=base, adapter_path=str(folder), **{k: v for k, v in overrides.items() if v is not None}))


def open_doctor(ckpt: str | None, adapter: str | None, model: str | None, **overrides: Any) -> Policy:
    """From exactly one of: a fit checkpoint, an adapter folder, or a base model with a fresh adapter."""
    if ckpt and adapter:
        raise ValueError("give --ckpt or --adapter, not both")
    if ckpt:
        return doctor_from_checkpoint(ckpt, **({"model": model} if model else {}), **overrides)
    if adapter:
        return doctor_from_adapter(adapter, model, **overrides)
    if model:
        return Policy(PolicyConfig(model=model, **{k: v for k, v in overrides.items() if v is not None}))
    raise ValueError("give --ckpt CKPT, --adapter DIR or --model MODEL")
