"""`python -m grpodx fit|validate|test|predict --config FILE`: the LightningCLI behind the trainer commands."""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, cast

from jsonargparse import set_parsing_settings
from lightning.pytorch import Callback, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from grpodx.cases.errors import CaseError
from grpodx.env.base import EnvFailureStop
from grpodx.run.callbacks import AdapterExport, EvalProgress, PredictionWriter, TranscriptLogger
from grpodx.run.control import ResumeError, RunControl, StepProgressBar, resolve_resume
from grpodx.run.knobs import ConfigError
from grpodx.run.outputs import OutputSummary, command_logger, metrics_table, quiet_library_tips, uses_default_logger
from grpodx.run.results import ResultsWriter
from grpodx.run.secrets import RedactingArgumentParser, RedactingSaveConfigCallback
from grpodx.train.data import CaseDataModule
from grpodx.train.module import DoctorGRPO
from grpodx.train.warmup import WarmUp


class GrpodxCLI(LightningCLI):
    """LightningCLI with grpodx's callbacks, its always-on run control, and fit's "before"."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_lightning_class_args(AdapterExport, "adapter_export")
        parser.add_lightning_class_args(TranscriptLogger, "transcripts")
        parser.add_lightning_class_args(ResultsWriter, "results")
        parser.add_lightning_class_args(EvalProgress, "eval_progress")
        parser.add_lightning_class_args(WarmUp, "warmup")
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.set_defaults({"checkpoint.save_last": True, "checkpoint.every_n_train_steps": 100})

    def before_instantiate_classes(self) -> None:
        """What can fail without a model fails before one loads: a resume checkpoint that is
        missing (the newest complete one in its folder stands in), out-of-range `data.*` values
        and bad case files (the cases are loaded here, once; see `instantiate_classes`)."""
        config = self.config[str(self.subcommand)] if self.subcommand else self.config
        if config.get("ckpt_path"):
            config.ckpt_path = str(resolve_resume(config.ckpt_path))
        self._cases = load_cases(config.data) if "data" in config else None

    def instantiate_classes(self) -> None:
        super().instantiate_classes()
        if self._cases is not None:  # the datamodule whose cases were checked, not a second load
            self.datamodule = self._cases

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        """The configured trainer plus the callbacks that are always on: Ctrl-C handling and
        stub-run removal, predictions.jsonl, the list of outputs, and the step bar unless the
        progress bar is turned off (Lightning refuses a bar callback then)."""
        config = self.config_init.get(str(self.subcommand), self.config_init).get("trainer", {})
        configured = config.get("callbacks") or []
        extra: list[Callback] = [RunControl(), PredictionWriter(), OutputSummary()]
        if config.get("enable_progress_bar", True) is not False:
            extra.append(StepProgressBar())
        configured = configured if isinstance(configured, list) else [configured]
        return super().instantiate_trainer(**{"callbacks": [*configured, *extra], **kwargs})

    # LightningCLI calls before_<subcommand>() once the trainer exists, before it runs
    def before_fit(self) -> None:
        self._place_outputs("fit")
        self._validate_before_fit()

    def _validate_before_fit(self) -> None:
        """The run's "before" (results/val_step_000000.json): validate the untrained model on the
        held-out cases, in the run's folder (placed above), unless resuming (the checkpoint's run
        had it) or turned off (model.validate_before_fit, or no validation batches). Quiet, as
        fit's own validations are: no metrics table."""
        model = cast(DoctorGRPO, self.model)
        resuming = self.config_init[str(self.subcommand)].get("ckpt_path") is not None
        if not model.validate_before_fit or resuming or not self.trainer.limit_val_batches:
            return
        model.before_fit = True
        try:
            self.trainer.validate(model, datamodule=self.datamodule, verbose=False)
        finally:
            model.before_fit = False

    def before_validate(self) -> None:
        self._place_outputs("validate")

    def before_test(self) -> None:
        self._place_outputs("test")

    def before_predict(self) -> None:
        self._place_outputs("predict")

    # validate and test print their metrics themselves: every name whole (see metrics_table)
    def validate(self, **kwargs: Any) -> None:
        results = self.trainer.validate(**(kwargs | {"verbose": False}))
        self._print_metrics(results, "validate")

    def test(self, **kwargs: Any) -> None:
        results = self.trainer.test(**(kwargs | {"verbose": False}))
        self._print_metrics(results, "test")

    def _print_metrics(self, results: Sequence[Mapping[str, float]], title: str) -> None:
        table = metrics_table(results, title)
        if table and self.trainer.is_global_zero:
            print(table, flush=True)

    # ... and after_<subcommand>() once it has returned
    def after_fit(self) -> None:
        self._list_outputs()

    def after_validate(self) -> None:
        self._list_outputs()

    def after_test(self) -> None:
        self._list_outputs()

    def after_predict(self) -> None:
        self._list_outputs()

    def _list_outputs(self) -> None:
        for callback in self.trainer.callbacks:  # type: ignore[attr-defined]
            if isinstance(callback, OutputSummary):
                callback.report()

    def _place_outputs(self, command: str) -> None:
        """Fit's run in lightning_logs/version_N; an evaluation inside the run it evaluates (see grpodx.run.outputs)."""
        config = self.config[command]
        if command != "fit":
            # an evaluation saves no checkpoint: ModelCheckpoint's notice that its folder differs
            # from the checkpoint's is about state it will never use
            warnings.filterwarnings("ignore", message=r".*The dirpath has changed from.*")
        if uses_default_logger(config):
            adapter = config.model.policy.adapter_path if "model" in config else None
            root_given = config.trainer.default_root_dir is not None
            self.trainer.loggers = [command_logger(command, self.trainer.default_root_dir, config.get("ckpt_path"), adapter, root_given)]


class DataError(ValueError):
    """The cases cannot be loaded as configured (a missing file, a repeated id, an unknown diagnosis)."""


def load_cases(data: Any) -> CaseDataModule:
    """A CaseDataModule built from the `data` config and its cases loaded: its out-of-range
    values raise ConfigError, a bad record CaseError (file:line: field), anything else DataError."""
    module = CaseDataModule(**vars(data))
    try:
        module.setup()
    except (CaseError, ConfigError):
        raise
    except (ValueError, FileNotFoundError) as error:
        raise DataError(f"data.sources: {error}") from error
    return module


# Known, harmless library warnings that would bury our own output on every run:
# checkpoints are taken after the GRPO update on purpose (the step's result is what we keep),
# and PEFT still calls a transformers helper deprecated in v5.
_QUIET = (
    r".*manual optimization and every_n_train_steps.*",
    r".*`is_gradient_checkpointing` is deprecated.*",
    r".*isinstance\(treespec, LeafSpec\).*",
    r".*LightningCLI's args parameter is intended to run from within Python.*",  # see build_cli
)


_NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-inf$")


def join_negative_values(argv: list[str]) -> list[str]:
    """`--model.optim.lr -1e-3` -> `--model.optim.lr=-1e-3`: argparse reads `-1e-3` as an option
    (it only knows `-1` and `-1.5` as numbers), so a negative value would be 'missing'.

    >>> join_negative_values(["fit", "--model.optim.lr", "-1e-3", "--trainer.max_steps", "-1"])
    ['fit', '--model.optim.lr=-1e-3', '--trainer.max_steps=-1']
    """
    out: list[str] = []
    for token in argv:
        if out and _NEGATIVE_NUMBER.match(token) and out[-1].startswith("--") and "=" not in out[-1]:
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def run_trainer(argv: list[str]) -> None:
    """Run `fit|validate|test|predict ...` (argv starts with the subcommand)."""
    build_cli(argv)


def build_cli(argv: list[str], run: bool = True) -> GrpodxCLI:
    """GrpodxCLI over `argv` (negative values joined to their flags). With `run=False` argv holds
    no subcommand, and the CLI only parses, checks and builds model, data and trainer. A bad key
    or value exits with status 2 and one line naming it, as a parse error does.

    argv is always passed explicitly, so LightningCLI never reads sys.argv itself; it warns that
    sys.argv holds arguments too, which from the command line are these very ones. DDP's launcher
    re-runs the unchanged command line for the other ranks, which join the values the same way."""
    for pattern in _QUIET:
        warnings.filterwarnings("ignore", message=pattern)
    quiet_library_tips()
    # `--help` shows each config field's docstring (read by docstring-parser), not just its type.
    set_parsing_settings(docstring_parse_attribute_docstrings=True)
    try:
        return GrpodxCLI(**_cli_kwargs(join_negative_values(argv)), run=run)
    except ConfigError as error:  # a value out of range: the key and the rule say it all
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    except (CaseError, DataError, ResumeError) as error:  # file:line: field, or what is missing: one line
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    except EnvFailureStop as error:  # an outage, not a bug: what happened and what to do, no traceback
        print(
            f"error: the run stopped because the patient or judge kept failing. {error}. "
            "Check that the model servers are up and the keys valid, then resume with the command above "
            "(or raise model.max_env_error_fraction to tolerate more failures).",
            file=sys.stderr,
        )
        sys.exit(1)


def _cli_kwargs(argv: list[str]) -> dict:
    """GrpodxCLI's arguments but `run`."""
    return dict(
        model_class=DoctorGRPO,
        datamodule_class=CaseDataModule,
        args=argv,
        save_config_callback=RedactingSaveConfigCallback,
        parser_class=RedactingArgumentParser,  # every dump masked: config.yaml and --print_config
        save_config_kwargs={"overwrite": True},
        # the model summary's table is replaced by OutputSummary's one line of parameter counts
        trainer_defaults={"plugins": [{"class_path": "grpodx.run.callbacks.AtomicCheckpointIO"}], "enable_model_summary": False},
        parser_kwargs={"default_env": False},
    )
