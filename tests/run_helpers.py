"""Run helpers: a callback that presses Ctrl-C (a real SIGINT to this process, at a chosen
optimizer step), a run's TensorBoard scalars, and a `test` of the tiny config."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import lightning as L


class CtrlCAt(L.Callback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGINT)


def scalars(run: Path) -> dict[str, list[float]]:
    """A run folder's TensorBoard scalars by tag, and its text tags under `__text__`."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run))
    events.Reload()
    return {tag: [s.value for s in events.Scalars(tag)] for tag in events.Tags()["scalars"]} | {"__text__": events.Tags()["tensors"]}


def evaluate_tiny(root: Path, cache: str, *extra: str) -> Path:
    """`python -m grpodx test` of the tiny config in `root`; the evaluation's folder (an
    evaluation of no run lands in ROOT/evaluations/test_N)."""
    from grpodx.cli import main

    config = Path(__file__).resolve().parents[1] / "configs" / "tiny.yaml"
    main(
        [
            "test",
            "--config",
            str(config),
            f"--trainer.default_root_dir={root}",
            f"--model.policy.cache_dir={cache}",
            "--trainer.enable_progress_bar=false",
            *extra,
        ]
    )
    return next((root / "evaluations").glob("test_*"))
