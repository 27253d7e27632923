"""`python -m grpodx COMMAND ...`: a light dispatcher, so that each command imports only what it needs.

`fit`, `validate`, `test` and `predict` go to LightningCLI (`grpodx.run.cli`); every other
command is a module with a `main(argv) -> int`, imported only when it is run.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

TRAINER_COMMANDS = ("fit", "validate", "test", "predict")
COMMANDS: dict[str, tuple[str, str]] = {
    # name: (module with main(argv) -> int, one line of help)
    "bench": ("benchmarks/bench.py", "rollout/update throughput (bench rollout|step); inquiry ceiling and floor (bench inquiry), as JSON"),
    "cases": ("grpodx.cases.cli", "inspect case sources (stats, list, show) and generate case cards with an LLM"),
    "report": ("grpodx.tools.report", "write one HTML page of a run: curves, before/after with intervals and tests, transcripts"),
    "chat": ("grpodx.tools.chat", "be the patient of a trained doctor in the terminal (--ckpt, --adapter or --model)"),
    "export": ("grpodx.tools.export", "write a trained doctor as a PEFT adapter folder, or --merge into a plain model folder"),
}
_TRAINER_HELP = {
    "fit": "train the doctor with GRPO (validates before the first step and every val_check_interval)",
    "validate": "evaluate on the validation split",
    "test": "evaluate on the test split, or --data.test_cases SOURCE",
    "predict": "score one episode per test case and write the records",
}


def usage() -> str:
    lines = ["usage: python -m grpodx COMMAND [options]   (COMMAND --help for its options; fit --help-grpodx for ours alone)", "", "commands:"]
    lines += [f"  {name:10s} {text}" for name, text in _TRAINER_HELP.items()]
    lines += [f"  {name:10s} {text}" for name, (_, text) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = argv[0] if argv else ""
    try:
        if command in TRAINER_COMMANDS and "--help-grpodx" in argv:
            from grpodx.run.knob_help import grpodx_help

            print(grpodx_help())
            return
        if command in TRAINER_COMMANDS:
            from grpodx.run.cli import run_trainer

            run_trainer(argv)
            return
        if command in COMMANDS:
            sys.exit(_command_main(COMMANDS[command][0])(argv[1:]))
    except Exception as error:
        line = _one_line(error)
        if line is None:
            raise
        print(f"grpodx: {line}", file=sys.stderr)
        sys.exit(1)
    print(usage(), file=sys.stderr if command not in ("-h", "--help", "help") else sys.stdout)
    sys.exit(0 if command in ("-h", "--help", "help") else 2)


def _command_main(where: str) -> Callable[[list[str]], int]:
    """A command's `main`: from its module, or, for the benchmarks (which live in the clone's
    `benchmarks/`, beside the package, not inside it), from that file."""
    if not where.endswith(".py"):
        return importlib.import_module(where).main
    path = Path(__file__).resolve().parents[1] / where
    if not path.is_file():
        raise SystemExit(f"grpodx: {where} not found at {path}: the benchmarks run from a clone of the repository (pip install -e .)")
    spec = importlib.util.spec_from_file_location(f"grpodx_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


_REQUIRED = {"torch", "transformers", "peft", "lightning", "jsonargparse", "litellm", "torchmetrics", "yaml"}
"""Top-level packages the commands import: missing, they mean the install was skipped."""


def _one_line(error: Exception) -> str | None:
    """The whole story of an environment problem (a dependency missing, no backend, no model, a
    broken torchvision), or None."""
    if isinstance(error, ModuleNotFoundError) and (error.name or "").split(".")[0] in _REQUIRED:
        return (
            f"{error.name} is not installed for {sys.executable}: activate the project's venv "
            "(. .venv/bin/activate), or install as the README's Install section says (torch==2.13.0 first, then pip install -e .)"
        )
    from grpodx.policy.backends import BackendError, broken_torchvision
    from grpodx.policy.models import ModelNotFoundError

    if isinstance(error, (BackendError, ModelNotFoundError)):
        return str(error)
    return broken_torchvision(error)
