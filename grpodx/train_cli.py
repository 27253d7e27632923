"""`python -m grpodx fit|validate|test|predict --config FILE`: the LightningCLI behind the trainer commands."""

from __future__ import annotations

import sys
import warnings

from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from grpodx.callbacks import AdapterExport, EvalProgress, TranscriptLogger
from grpodx.data import CaseDataModule
from grpodx.module import DoctorGRPO
from grpodx.results import ResultsWriter
from grpodx.secrets import RedactingSaveConfigCallback
from grpodx.warmup import WarmUp


class GrpodxCLI(LightningCLI):
    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_lightning_class_args(AdapterExport, "adapter_export")
        parser.add_lightning_class_args(TranscriptLogger, "transcripts")
        parser.add_lightning_class_args(ResultsWriter, "results")
        parser.add_lightning_class_args(EvalProgress, "eval_progress")
        parser.add_lightning_class_args(WarmUp, "warmup")
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.set_defaults({"checkpoint.save_last": True, "checkpoint.every_n_train_steps": 100})


# Known, harmless library warnings that would bury our own output on every run:
# checkpoints are taken after the GRPO update on purpose (the step's result is what we keep),
# and PEFT still calls a transformers helper deprecated in v5.
_QUIET = (r".*manual optimization and every_n_train_steps.*", r".*`is_gradient_checkpointing` is deprecated.*", r".*isinstance\(treespec, LeafSpec\).*")


def run_trainer(argv: list[str]) -> None:
    """Run `fit|validate|test|predict ...` (argv starts with the subcommand)."""
    for pattern in _QUIET:
        warnings.filterwarnings("ignore", message=pattern)
    if sys.argv[1:] == argv:
        # from the command line: LightningCLI reads sys.argv itself, and DDP's launcher re-runs
        # that same command line for the other ranks, so it must stay as it is
        _cli(None)
        return
    # called with other arguments (tests, scripts): LightningCLI warns when it is given `args`
    # while sys.argv also holds arguments, so hide the program's own for the call
    program, sys.argv[1:] = sys.argv[1:], []
    try:
        _cli(argv)
    finally:
        sys.argv[1:] = program


def _cli(argv: list[str] | None) -> None:
    GrpodxCLI(**_cli_kwargs(argv))


def _cli_kwargs(argv: list[str] | None) -> dict:
    """GrpodxCLI's arguments; `run=False` with them builds model, data and trainer without running."""
    return dict(
        model_class=DoctorGRPO,
        datamodule_class=CaseDataModule,
        args=argv,
        save_config_callback=RedactingSaveConfigCallback,
        save_config_kwargs={"overwrite": True},
        trainer_defaults={"plugins": [{"class_path": "grpodx.callbacks.AtomicCheckpointIO"}]},
        parser_kwargs={"default_env": False},
    )
