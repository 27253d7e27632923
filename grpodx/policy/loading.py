"""What every backend loads the doctor with: the resolved model folder, the precision, and LoRA
targets that fit the loaded model's real module names (the loaders are in policy/backends/).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Literal

import torch
from torch import nn

from grpodx.policy.models import resolve_model

if TYPE_CHECKING:
    from grpodx.policy.policy import PolicyConfig

Precision = Literal["auto", "bf16", "fp32"]
# Phi-3/Phi-4 (Microsoft's releases) fuse projections that Llama-style checkpoints, Unsloth's
# Phi-4 among them, keep separate; a target list written for one layout fits the other.
FUSED = {"qkv_proj": ("q_proj", "k_proj", "v_proj"), "gate_up_proj": ("gate_proj", "up_proj")}


def bf16_supported(device_type: str) -> bool:
    """bf16 math runs natively: a CUDA GPU with bf16, or a CPU with AVX512-BF16 or AMX."""
    if device_type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device_type == "cpu":
        try:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            return False
    return False


def compute_dtype(precision: Precision, device_type: str) -> torch.dtype | None:
    """The autocast dtype of forward passes on this device; None is plain float32."""
    if precision == "bf16" or (precision == "auto" and bf16_supported(device_type)):
        return torch.bfloat16
    return None


def autocast(precision: Precision, device: torch.device) -> AbstractContextManager:
    dtype = compute_dtype(precision, device.type)
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()


def weights_dtype(precision: Precision) -> torch.dtype:
    """bf16 weights on a GPU; on a CPU float32 master weights, with bf16 autocast over them."""
    return torch.bfloat16 if torch.cuda.is_available() and compute_dtype(precision, "cuda") else torch.float32


def fit_lora_targets(model: nn.Module, targets: list[str] | str, expand_all: bool = False) -> list[str] | str:
    """Map `lora.target_modules` onto the model's linear layers, fused or separate.

    A name the model lacks is replaced by its fused or split form (`q_proj` -> `qkv_proj`,
    `gate_up_proj` -> `gate_proj`, `up_proj`); a name that fits nothing is an error, since a
    silent miss trains nothing. `expand_all` spells out 'all-linear' (minus the output head).
    """
    names = {name.rsplit(".", 1)[-1] for name, module in model.named_modules() if isinstance(module, nn.Linear)}
    if targets == "all-linear":
        return sorted(names - {"lm_head"}) if expand_all else targets
    if isinstance(targets, str):
        targets = [targets]
    fitted, missing = [], []
    for target in targets:
        fused = next((whole for whole, parts in FUSED.items() if target in parts and whole in names), None)
        if target in names:
            fitted.append(target)
        elif fused:
            fitted.append(fused)
        elif target in FUSED and all(part in names for part in FUSED[target]):
            fitted += FUSED[target]
        else:
            missing.append(target)
    if missing:
        raise ValueError(
            f"lora.target_modules {missing} match no linear layer of this model, fused or separate; its linear layers are {sorted(names)} (or use 'all-linear')"
        )
    return list(dict.fromkeys(fitted))


def resolved(config: PolicyConfig) -> str:
    """The model's folder. A first run builds or converts it (the tiny model seeds and trains its
    own weights), so torch's random state is kept aside: the LoRA init that follows is the same
    whether the folder was made now or found in the cache, and a resumed run matches."""
    with torch.random.fork_rng(devices=[]):
        return resolve_model(config.model, config.cache_dir)
