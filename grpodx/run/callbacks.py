"""Infrastructure kept out of the training step: adapter export, transcripts, atomic checkpoints."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import lightning as L
import torch
from lightning.pytorch.callbacks import BasePredictionWriter, RichProgressBar, TQDMProgressBar
from lightning.pytorch.loggers import Logger, TensorBoardLogger
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from grpodx.run.files import staging_file
from grpodx.run.knobs import require

if TYPE_CHECKING:
    from grpodx.train.module import DoctorGRPO


def run_dir(trainer: L.Trainer) -> Path:
    """The run's folder (lightning_logs/version_N), or default_root_dir without a logger.

    Under DDP `trainer.log_dir` broadcasts from rank zero: call this on every rank."""
    return Path(trainer.log_dir or trainer.default_root_dir)


class AdapterExport(L.Callback):
    """Export the LoRA adapter in PEFT format every `save_steps` optimizer steps and at the end.

    Folders: <run>/adapters/step_000100/ ... and <run>/adapters/final/, each with
    adapter_config.json and adapter_model.safetensors, loadable by PEFT, vLLM or for merging.
    """

    def __init__(self, save_steps: int = 100) -> None:
        """
        Args:
            save_steps: export every this many optimizer steps (the seed's --save-steps).
        """
        require("adapter_export", {"save_steps": (save_steps >= 1, ">= 1")}, {"save_steps": save_steps})
        self.save_steps = save_steps
        self._last = -1

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        step = trainer.global_step
        if step % self.save_steps == 0 and step != self._last:
            self._export(trainer, pl_module, f"step_{step:06d}")
            self._last = step

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._export(trainer, pl_module, "final")

    @staticmethod
    def _export(trainer: L.Trainer, pl_module: L.LightningModule, name: str) -> None:
        export_adapter(trainer, pl_module, name)


def export_adapter(trainer: L.Trainer, pl_module: L.LightningModule, name: str) -> Path:
    """<run>/adapters/<name>/: the PEFT adapter and a model card with the run's data, steps and metrics."""
    from grpodx.policy.model_card import AdapterCard

    folder = run_dir(trainer) / "adapters" / name
    if trainer.is_global_zero:
        headline = ("train/reward", "train/accuracy", "train/credit")
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith(("val/", "test/")) or k in headline}
        policy = cast("DoctorGRPO", pl_module).policy
        data = list(getattr(getattr(trainer, "datamodule", None), "sources", []) or [])
        card = AdapterCard(base_model=policy.config.model, steps=trainer.global_step, data=data, metrics=metrics)
        policy.save_adapter(folder, card)
    return folder


class PredictionWriter(BasePredictionWriter):
    """`predict` writes one JSON line per episode to <run>/predictions.jsonl: the transcript record
    (`results.episode_record`: case, truth, diagnosis, status, credit, reward, ...) and the transcript."""

    def __init__(self) -> None:
        super().__init__(write_interval="batch")
        self.path: Path | None = None

    def on_predict_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.path = run_dir(trainer) / "predictions.jsonl"
        if trainer.is_global_zero:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text("", encoding="utf-8")

    def write_on_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, prediction: Any, *args: Any) -> None:
        assert self.path is not None
        with self.path.open("a", encoding="utf-8") as file:
            file.writelines(json.dumps(record, ensure_ascii=False) + "\n" for record in prediction)

    def on_predict_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        rank_zero_info(f"predictions: {self.path}")


class TranscriptLogger(L.Callback):
    """Write a few whole conversations, reasoning included, to every logger that takes text:
    TensorBoard's text tab, a W&B table, MLflow artifacts (see `log_transcripts`)."""

    def __init__(self, every_n_steps: int = 10, num_transcripts: int = 2) -> None:
        """
        Args:
            every_n_steps: write transcripts every this many optimizer steps (0: never in training).
            num_transcripts: conversations written each time.
        """
        knobs = {"every_n_steps": every_n_steps, "num_transcripts": num_transcripts}
        require("transcripts", {name: (value >= 0, ">= 0") for name, value in knobs.items()}, knobs)
        self.every_n_steps, self.num_transcripts = every_n_steps, num_transcripts
        self._told: set[str] = set()

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        if self.every_n_steps and trainer.global_step % self.every_n_steps == 0:
            self._write(trainer, pl_module, "transcripts/train")

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._write(trainer, pl_module, "transcripts/val")

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._write(trainer, pl_module, "transcripts/test")

    def _write(self, trainer: L.Trainer, pl_module: L.LightningModule, tag: str) -> None:
        if not trainer.is_global_zero:
            return
        texts = [episode.transcript() for episode in cast("DoctorGRPO", pl_module).last_episodes[: self.num_transcripts]]
        skipped = log_transcripts(trainer.loggers, tag, texts, trainer.global_step)
        for name in sorted(set(skipped) - self._told):  # once per logger, not every step
            rank_zero_warn(f"transcripts: {name} takes no text, so it gets none; every episode is in the run's transcripts/*.jsonl")
            self._told.add(name)


def log_transcripts(loggers: list[Logger], tag: str, texts: list[str], step: int) -> list[str]:
    """Hand transcripts (markdown) to each logger in the form it keeps; returns the class names of
    loggers that take none. TensorBoard: text entries `tag/i`. W&B: a table `tag` with columns
    step, index, transcript. MLflow: artifacts `tag/step_NNNNNN_i.md` of the run."""
    skipped = []
    for logger in loggers:
        experiment = getattr(logger, "experiment", None) if isinstance(logger, TensorBoardLogger) else None
        if experiment is not None and hasattr(experiment, "add_text"):
            for i, text in enumerate(texts):
                experiment.add_text(f"{tag}/{i}", text, step)
        elif type(logger).__name__ == "WandbLogger":  # by name: wandb is an optional extra
            logger.log_text(key=tag, columns=["step", "index", "transcript"], data=[[step, i, t] for i, t in enumerate(texts)], step=step)  # type: ignore[attr-defined]
        elif type(logger).__name__ == "MLFlowLogger":
            for i, text in enumerate(texts):
                logger.experiment.log_text(logger.run_id, text, f"{tag}/step_{step:06d}_{i}.md")  # type: ignore[attr-defined]
        else:
            skipped.append(type(logger).__name__)
    return skipped


class EvalProgress(L.Callback):
    """Show the running accuracy and reward on the validation and test progress bars
    (Lightning's bar shows logged values on the training bar only)."""

    def on_validation_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        if not trainer.sanity_checking:
            self._show(trainer, pl_module, "val")

    def on_test_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        self._show(trainer, pl_module, "test")

    @staticmethod
    def _show(trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        bar, shown = trainer.progress_bar_callback, cast("DoctorGRPO", pl_module).eval_progress(stage)
        if not (shown and trainer.is_global_zero):
            return
        if isinstance(bar, TQDMProgressBar):
            (bar.val_progress_bar if stage == "val" else bar.test_progress_bar).set_postfix({k: f"{v:.3f}" for k, v in shown.items()}, refresh=False)
        elif isinstance(bar, RichProgressBar) and bar.progress is not None:
            # Rich's metrics column shows on fit's training bar only: put them in the task's name
            task, name = (bar.val_progress_bar_id, bar.validation_description) if stage == "val" else (bar.test_progress_bar_id, bar.test_description)
            if task is not None:
                bar.progress.update(task, description=f"{name} " + " ".join(f"{k} {v:.3f}" for k, v in shown.items()))


class AtomicCheckpointIO(TorchCheckpointIO):
    """Write checkpoints to a temporary file beside the target, then rename: a run killed
    mid-save leaves the previous checkpoint whole (a rename within one folder is atomic)."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, staging = staging_file(path)
        try:
            with os.fdopen(handle, "wb") as file:
                torch.save(checkpoint, file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(staging, path)
        except BaseException:
            Path(staging).unlink(missing_ok=True)
            raise
