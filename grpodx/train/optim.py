"""The optimiser: AdamW over the trainable weights, with linear warm-up then constant, linear or
cosine decay to 0 by the last optimizer step."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import torch
from torch.optim.lr_scheduler import ConstantLR, CosineAnnealingLR, LinearLR, LRScheduler, SequentialLR

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


def build_scheduler(optimizer: torch.optim.Optimizer, config: OptimConfig, total_steps: int) -> LRScheduler:
    """torch's schedulers, chained: `LinearLR` from lr/warmup_steps up to lr over the warm-up,
    then the rate kept (`ConstantLR`) or decayed to 0 by step `total_steps` (`LinearLR`,
    `CosineAnnealingLR`). Stepped once per optimizer step; its `state_dict` rides in checkpoints.

    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    >>> sched = build_scheduler(opt, OptimConfig(lr=1.0, warmup_steps=2, schedule="linear"), 4)
    >>> rates = [opt.param_groups[0]["lr"]]
    >>> for _ in range(4):
    ...     opt.step(); sched.step(); rates.append(opt.param_groups[0]["lr"])
    >>> [round(r, 6) for r in rates]
    [0.5, 1.0, 1.0, 0.5, 0.0]
    """
    warm = config.warmup_steps
    # warm-up step s (0-based) runs at (s + 1) / warm of the peak: LinearLR reaches 1 at s = warm - 1
    decay_steps = max(total_steps - warm, 1)
    after: LRScheduler = {
        "constant": lambda: ConstantLR(optimizer, factor=1.0, total_iters=0),
        "linear": lambda: LinearLR(optimizer, start_factor=1.0, end_factor=0.0, total_iters=decay_steps),
        "cosine": lambda: CosineAnnealingLR(optimizer, T_max=decay_steps, eta_min=0.0),
    }[config.schedule]()
    if warm == 0:
        return after
    ramp = LinearLR(optimizer, start_factor=1.0 / warm, end_factor=1.0, total_iters=max(warm - 1, 1))
    return SequentialLR(optimizer, [ramp, after], milestones=[warm])


def build_optimizer(params: Iterable[torch.nn.Parameter], config: OptimConfig, total_steps: int) -> tuple[torch.optim.AdamW, LRScheduler]:
    """AdamW and its per-optimizer-step schedule over `total_steps` steps."""
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay, betas=config.betas)
    return optimizer, build_scheduler(optimizer, config, total_steps)
