"""The optimiser: AdamW over the trainable weights, with linear warm-up then constant, linear or
cosine decay to 0 by the last optimizer step."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import torch

from grpodx.run.knobs import require

Schedule = Literal["constant", "linear", "cosine"]


@dataclass
class OptimConfig:
    """AdamW over the LoRA weights, with a warm-up and an optional decay."""

    lr: float = 2e-5
    """Peak learning rate."""
    weight_decay: float = 0.0
    """AdamW's decoupled weight decay."""
    betas: tuple[float, float] = (0.9, 0.99)
    """AdamW's moment decay rates."""
    warmup_steps: int = 0
    """Optimizer steps of linear warm-up from lr/warmup_steps to lr."""
    schedule: Schedule = "constant"
    """After warm-up: keep the rate, or decay it to 0 by the last step."""
    max_grad_norm: float = 1.0
    """Gradients are clipped to this global norm before each optimizer step."""

    def __post_init__(self) -> None:
        require(
            "model.optim",
            {
                "lr": (self.lr > 0, "> 0"),
                "weight_decay": (self.weight_decay >= 0, ">= 0"),
                "betas": (len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas), "two numbers in [0, 1)"),
                "warmup_steps": (self.warmup_steps >= 0, ">= 0"),
                "max_grad_norm": (self.max_grad_norm > 0, "> 0"),
            },
            self,
        )


def lr_factor(step: int, total: int, warmup_steps: int, schedule: Schedule) -> float:
    """Multiplier of the base learning rate at optimizer step `step` (0-based) of `total`.

    >>> [lr_factor(s, 4, 2, "linear") for s in range(5)]
    [0.5, 1.0, 1.0, 0.5, 0.0]
    >>> lr_factor(2, 4, 0, "cosine"), lr_factor(7, 4, 0, "constant")
    (0.5, 1.0)
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min((step - warmup_steps) / max(total - warmup_steps, 1), 1.0)
    if schedule == "linear":
        return 1.0 - progress
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    return 1.0


def build_optimizer(params: Iterable[torch.nn.Parameter], config: OptimConfig, total_steps: int) -> tuple[torch.optim.AdamW, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW and its per-optimizer-step schedule over `total_steps` steps."""
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay, betas=config.betas)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, total_steps, config.warmup_steps, config.schedule))
    return optimizer, scheduler
