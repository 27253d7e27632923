"""A callback that presses Ctrl-C: a real SIGINT to this process, at a chosen optimizer step."""

from __future__ import annotations

import os
import signal
from typing import Any

import lightning as L


class CtrlCAt(L.Callback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGINT)
