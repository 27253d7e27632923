"""Where each command writes, and telling the user: the run folder, evaluations under their run, a closing list.

- `fit` makes `lightning_logs/version_N/` (Lightning's default), without TensorBoard's empty
  `hp_metric` scalar.
- `validate`, `test` and `predict` of a trained run (`--ckpt_path RUN/checkpoints/*.ckpt`, or
  `--model.policy.adapter_path RUN/adapters/NAME`) land *in that run*, as
  `RUN/evaluations/<command>_<n>/`; an evaluation of no run (a base model), or one given
  `--trainer.default_root_dir DIR`, lands in `DIR/evaluations/<command>_<n>/` (DIR: the current
  folder by default). So `lightning_logs/` holds training runs only, and the newest `version_N`
  is always the newest training run.
- Every command ends by listing the files it wrote (`OutputSummary`).

A logger the user configured (`--trainer.logger ...`) is left alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only

EVALUATIONS = "evaluations"
_EVALUATING = ("validate", "test", "predict")


def run_of(ckpt_path: str | None, adapter_path: str | None) -> Path | None:
    """The training run a checkpoint or adapter came from: RUN in RUN/checkpoints/X.ckpt or
    RUN/adapters/NAME, when RUN holds the run's hparams.yaml or config.yaml; else None."""
    candidates = []
    if ckpt_path and ckpt_path not in ("last", "best", "hpc", "registry"):
        ckpt = Path(ckpt_path).expanduser()
        candidates.append(ckpt.parent.parent if ckpt.parent.name == "checkpoints" else None)
    if adapter_path:
        adapter = Path(adapter_path).expanduser()
        candidates.append(adapter.parent.parent if adapter.parent.name == "adapters" else None)
    for run in candidates:
        if run is not None and ((run / "hparams.yaml").is_file() or (run / "config.yaml").is_file()):
            return run
    return None


def next_name(folder: Path, command: str) -> str:
    """`<command>_<n>` with n one past the highest already in `folder` (0 for the first)."""
    taken = [p.name.removeprefix(f"{command}_") for p in folder.glob(f"{command}_*")] if folder.is_dir() else []
    numbers = [int(n) for n in taken if n.isdigit()]
    return f"{command}_{max(numbers) + 1 if numbers else 0}"


def command_logger(
    command: str, root: str | Path, ckpt_path: str | None = None, adapter_path: str | None = None, root_given: bool = False
) -> TensorBoardLogger:
    """The TensorBoard logger a command writes through when the user configured none. An
    evaluation goes into the run it evaluates unless `root_given` (--trainer.default_root_dir
    set: the user said where)."""
    if command not in _EVALUATING:
        return TensorBoardLogger(save_dir=root, default_hp_metric=False)
    base = (None if root_given else run_of(ckpt_path, adapter_path)) or Path(root)
    return TensorBoardLogger(save_dir=base, name=EVALUATIONS, version=next_name(base / EVALUATIONS, command), default_hp_metric=False)


def uses_default_logger(config: Any) -> bool:
    """True when the command's config leaves `trainer.logger` at Lightning's default."""
    return getattr(config.trainer, "logger", None) in (None, True)


class _DropTips(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("💡 Tip:")


def quiet_library_tips() -> None:
    """Drop Lightning's advertisement for its cloud logger, printed on every run that has another
    logger: it says nothing about the run (idempotent)."""
    where = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    if not any(isinstance(f, _DropTips) for f in where.filters):
        where.addFilter(_DropTips())


def parameter_line(module: torch.nn.Module) -> str:
    """What Lightning's model summary said that matters for LoRA, in one line (its table showed
    two rows and a `FLOPs` column of zeros: the step's work happens in rollouts it cannot see).

    >>> layer = torch.nn.Linear(10, 10)
    >>> layer.bias.requires_grad_(False)  # doctest: +ELLIPSIS
    Parameter...
    >>> parameter_line(layer)
    'parameters: 110 (100 trainable, 90.91%)'
    """
    total = sum(p.numel() for p in module.parameters())
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    return f"parameters: {total:,} ({trainable:,} trainable, {100 * trainable / max(total, 1):.2f}%)"


class OutputSummary(L.Callback):
    """Fit starts with one line of parameter counts (Lightning's model summary is off); every command
    ends by listing the files it wrote under the run folder: results, transcripts, predictions,
    adapters, checkpoints, the saved config, the TensorBoard events."""

    _SHOWN = ("results/*.json", "transcripts/*.jsonl", "predictions.jsonl", "adapters/*/", "checkpoints/*.ckpt", "config.yaml", "events.out.tfevents.*")

    def __init__(self) -> None:
        self._started = time.time()
        self._run: Path | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._started = time.time()
        run = Path(trainer.log_dir or trainer.default_root_dir)  # a broadcast: on every rank
        self._run = run
        if stage == "fit" and trainer.is_global_zero:
            print(parameter_line(pl_module), flush=True)

    @rank_zero_only
    def report(self) -> None:
        """Print the list; the CLI calls it once the command has returned (after its metrics)."""
        run = self._run
        written = written_since(run, self._started, self._SHOWN) if run is not None else []
        if written:
            lines = "\n".join(f"  {path}" for path in written)
            print(f"\nwrote to {run}:\n{lines}", flush=True)


def metrics_table(results: Sequence[Mapping[str, float]], title: str) -> str:
    """The evaluation's metrics as plain text, every name whole (Lightning's Rich table cuts long
    names such as `test/by_system/respiratory/accuracy` to fit the terminal).

    >>> print(metrics_table([{"test/accuracy": 0.5, "test/by_system/respiratory/accuracy": 1.0}], "test"))
    test metric                          value
    test/accuracy                        0.5
    test/by_system/respiratory/accuracy  1
    """
    merged = {k: float(v) for result in results for k, v in result.items()}
    if not merged:
        return ""
    width = max(len(f"{title} metric"), *(len(k) for k in merged))
    rows = [f"{name:<{width}}  {value:.4g}" for name, value in sorted(merged.items())]
    return "\n".join([f"{title + ' metric':<{width}}  value", *rows])


def written_since(run: Path, since: float, patterns: tuple[str, ...]) -> list[Path]:
    """The files (or folders, for patterns ending in /) matching `patterns` under `run` that were
    modified at or after `since`, in pattern order."""
    found: list[Path] = []
    for pattern in patterns:
        for path in sorted(run.glob(pattern.rstrip("/"))):
            if path.exists() and path.stat().st_mtime >= since - 1 and path not in found:
                found.append(path)
    return found
