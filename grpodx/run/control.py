"""How a run starts and stops: Ctrl-C at a step boundary, no stub folders, a bar in optimizer steps.

- The first Ctrl-C asks the run to stop after the current step; at that step's end last.ckpt and
  the adapter are written and the resume command is printed. A second Ctrl-C aborts at once.
- A run stopped by environment failures (`EnvFailureStop`: the patient server died) saves and
  explains the same way, from the last completed step, before the error ends the run.
- A run that starts removes the half-written checkpoint files a killed run left behind.
- A run that fails (or is interrupted) before its first optimizer step removes the
  lightning_logs/version_N folder it created, so the newest folder is always a real run.
- The progress bar counts optimizer steps over the whole run (`trainer.max_steps` counts them).
"""

from __future__ import annotations

import shutil
import signal
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint, TQDMProgressBar

from grpodx.env.base import EnvFailureStop
from grpodx.train.module import DoctorGRPO


class RunControl(L.Callback):
    def __init__(self) -> None:
        self.stop_requested = False
        self._previous_handler: Any = None
        self._started = time.time()  # before the trainer exists, so before its run folder

    # --- no stub runs ----------------------------------------------------------------------------
    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if isinstance(exception, EnvFailureStop) and trainer.global_step > 0:
            self._save_and_explain(trainer, pl_module)  # the steps done so far are kept, as on Ctrl-C
        folder = Path(trainer.logger.log_dir) if trainer.logger is not None and trainer.logger.log_dir else None
        if folder is None or not folder.is_dir() or trainer.global_step > 0 or not trainer.is_global_zero:
            return
        files = [p for p in folder.rglob("*") if p.is_file()]
        # only a folder this run wrote, holding no checkpoint (a reused version_N keeps its past)
        if all(p.stat().st_mtime >= self._started - 1 for p in files) and not any(p.suffix == ".ckpt" for p in files):
            shutil.rmtree(folder, ignore_errors=True)

    # --- Ctrl-C ----------------------------------------------------------------------------------
    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        callback = trainer.checkpoint_callback
        if trainer.is_global_zero and isinstance(callback, ModelCheckpoint) and callback.dirpath:
            for leftover in remove_staging(Path(callback.dirpath)):
                print(f"removed {leftover.name}: a checkpoint half-written when an earlier run was killed", flush=True)
        if threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.signal(signal.SIGINT, self._on_sigint)

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self.stop_requested:  # the second Ctrl-C: abort now
            signal.signal(signal.SIGINT, self._previous_handler or signal.default_int_handler)
            raise KeyboardInterrupt
        self.stop_requested = True
        print("\nCtrl-C: stopping after this step, saving last.ckpt and the adapter (Ctrl-C again to abort now)", flush=True)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        if self.stop_requested and not trainer.should_stop:
            trainer.should_stop = True
            # Lightning validates once more when a run is asked to stop; Ctrl-C means now
            trainer.limit_val_batches = 0
            self._save_and_explain(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._previous_handler is not None:
            signal.signal(signal.SIGINT, self._previous_handler)
            self._previous_handler = None

    def _save_and_explain(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        from grpodx.run.callbacks import export_adapter, run_dir

        run = run_dir(trainer)
        saver = trainer.checkpoint_callback
        checkpoints = Path(saver.dirpath) if isinstance(saver, ModelCheckpoint) and saver.dirpath else run / "checkpoints"
        last = checkpoints / "last.ckpt"
        if isinstance(saver, ModelCheckpoint) and saver.save_last:
            # ModelCheckpoint may save this very step after us (a checkpoint step): told that
            # last.ckpt is its own, it overwrites it instead of adding last-v1.ckpt beside it
            saver.last_model_path = str(last)
        trainer.save_checkpoint(last)
        adapter = export_adapter(trainer, pl_module, f"step_{trainer.global_step:06d}")
        if trainer.is_global_zero:
            print(
                f"stopped at step {trainer.global_step}: saved {last} and the adapter {adapter}\n"
                f"resume with: python -m grpodx fit --config {run / 'config.yaml'} --ckpt_path {last}",
                flush=True,
            )


class ResumeError(FileNotFoundError):
    """A resume checkpoint that does not exist, with no complete one beside it to use instead."""


def resolve_resume(ckpt_path: str | Path) -> Path:
    """The checkpoint a resume loads: `ckpt_path` itself, or, when it does not exist (a run
    killed before its first save, or before last.ckpt was renamed into place), the newest
    complete checkpoint in its folder, saying so. Raises ResumeError when there is none."""
    path = Path(ckpt_path)
    if str(ckpt_path) in ("last", "best", "hpc", "registry") or path.is_file():  # Lightning's own names
        return path
    candidates = [p for p in path.parent.glob("*.ckpt") if complete_checkpoint(p)] if path.parent.is_dir() else []
    if not candidates:
        raise ResumeError(f"--ckpt_path {path} does not exist, and {path.parent} holds no complete checkpoint to resume from")
    newest = max(candidates, key=lambda p: p.stat().st_mtime)
    print(f"{path} does not exist: resuming from {newest}, the newest complete checkpoint in {path.parent}", flush=True)
    return newest


def complete_checkpoint(path: Path) -> bool:
    """A checkpoint written whole: not a staging file ('.last.ckpt-k2j3h'), and a zip archive
    whose directory, written last by torch.save, is there (a truncated copy has none)."""
    return path.is_file() and not path.name.startswith(".") and zipfile.is_zipfile(path)


def remove_staging(folder: Path) -> list[Path]:
    """Delete the temporary files `AtomicCheckpointIO` leaves when a run is killed mid-save
    ('.last.ckpt-k2j3h'); a complete checkpoint is never one of them. Returns what it removed."""
    leftovers = [p for p in folder.glob(".*.ckpt-*") if p.is_file()] if folder.is_dir() else []
    for path in leftovers:
        path.unlink(missing_ok=True)
    return leftovers


class StepProgressBar(TQDMProgressBar):
    """One bar for the run, in optimizer steps: `step 3/500`, not batches of an epoch."""

    def _total(self, trainer: L.Trainer, pl_module: L.LightningModule) -> float | None:
        if trainer.max_steps and trainer.max_steps > 0:
            return trainer.max_steps
        batches = trainer.estimated_stepping_batches  # training steps in the epoch budget
        mu = pl_module.grpo.mu if isinstance(pl_module, DoctorGRPO) else 1
        return batches * mu if batches != float("inf") else None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.train_progress_bar = self.init_train_tqdm()
        self.train_progress_bar.reset(total=self._total(trainer, pl_module))
        self.train_progress_bar.set_description("step")
        _show_step(self.train_progress_bar, trainer.global_step)

    def on_train_epoch_start(self, trainer: L.Trainer, *_: Any) -> None:
        pass  # one bar for the whole run

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *_: Any) -> None:
        _show_step(self.train_progress_bar, trainer.global_step)
        self.train_progress_bar.set_postfix(self.get_metrics(trainer, pl_module))

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.train_progress_bar.set_postfix(self.get_metrics(trainer, pl_module))


def _show_step(bar: Any, step: int) -> None:
    """Set a tqdm bar to `step` (absolute, as a resumed run starts past 0) and redraw it."""
    if not bar.disable:
        bar.n = step
        bar.refresh()
