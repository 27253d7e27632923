"""The learning-rate schedule: torch's schedulers, with the knobs' meaning, and exact resume."""

from __future__ import annotations

import math

import pytest
import torch

from grpodx.train.optim import OptimConfig, build_optimizer


def _rates(config: OptimConfig, total: int, steps: int) -> list[float]:
    optimizer, scheduler = build_optimizer([torch.nn.Parameter(torch.zeros(1))], config, total)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_warmup_then_cosine_follows_the_documented_curve():
    # warm-up of 3: steps 0, 1, 2 run at 1/3, 2/3, 1 of the peak; then cosine over the 5 steps
    # left: 0.5 * (1 + cos(pi * k / 5)) at k = 0..4, reaching 0 at k = 5 (the step after the last)
    rates = _rates(OptimConfig(lr=0.3, warmup_steps=3, schedule="cosine"), total=8, steps=9)
    expected = [0.1, 0.2, 0.3, *(0.3 * 0.5 * (1 + math.cos(math.pi * k / 5)) for k in range(5)), 0.0]
    assert rates == pytest.approx(expected, abs=1e-12)


def test_constant_and_linear_without_warmup():
    assert _rates(OptimConfig(lr=1.0), total=3, steps=4) == pytest.approx([1.0] * 4)
    assert _rates(OptimConfig(lr=1.0, schedule="linear"), total=4, steps=5) == pytest.approx([1.0, 0.75, 0.5, 0.25, 0.0])


@pytest.mark.parametrize("schedule", ["constant", "linear", "cosine"])
def test_scheduler_state_round_trips(schedule):
    """A schedule rebuilt from a checkpoint's state_dict continues where the saved one was."""
    config, total = OptimConfig(lr=1.0, warmup_steps=2, schedule=schedule), 7
    optimizer, scheduler = build_optimizer([torch.nn.Parameter(torch.zeros(1))], config, total)
    for _ in range(4):  # through the warm-up milestone and into the decay
        optimizer.step()
        scheduler.step()
    saved = (optimizer.state_dict(), scheduler.state_dict())
    resumed_opt, resumed = build_optimizer([torch.nn.Parameter(torch.zeros(1))], config, total)
    resumed_opt.load_state_dict(saved[0])
    resumed.load_state_dict(saved[1])
    for _ in range(3):
        assert resumed_opt.param_groups[0]["lr"] == pytest.approx(optimizer.param_groups[0]["lr"], abs=1e-15)
        optimizer.step(), scheduler.step(), resumed_opt.step(), resumed.step()
    assert resumed_opt.param_groups[0]["lr"] == pytest.approx(optimizer.param_groups[0]["lr"], abs=1e-15)
