"""`python -m grpodx fit --help-grpodx`: grpodx's own knobs on one screen.

`fit --help` is LightningCLI's: some 200 options, Lightning's Trainer first. This summary lists
only grpodx's groups (the model's, the data's and our callbacks'), each option with its default
and the first sentence of its docstring, read from the same dataclasses and `__init__`
docstrings that `--help` shows, so the two never disagree.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Callable
from typing import Any

import docstring_parser


def _first_sentence(text: str | None) -> str:
    """The text up to its first full stop (not the one in e.g. or i.e.).

    >>> _first_sentence("Evaluate these (e.g. a file). The rest.")
    'Evaluate these (e.g. a file).'
    """
    flat = " ".join((text or "").split())
    end = re.search(r"(?<!e\.g)(?<!i\.e)\.\s", flat)
    return flat if end is None else flat[: end.start() + 1]


def _docs(target: Callable[..., Any] | type) -> dict[str, str]:
    return {p.arg_name: _first_sentence(p.description) for p in docstring_parser.parse_from_object(target).params}


def _default(value: Any) -> str:
    if value is inspect.Parameter.empty:
        return "(required)"
    return repr(list(value) if isinstance(value, tuple) else value)


def group_lines(prefix: str, target: Callable[..., Any]) -> list[str]:
    """One line per argument of `target` (a class's __init__); a dataclass argument opens its fields."""
    lines: list[str] = []
    docs = _docs(target)
    for name, parameter in inspect.signature(target).parameters.items():
        if name == "self":
            continue
        lines += _option_lines(f"{prefix}{name}", parameter.default, docs.get(name, ""))
    return lines


def _option_lines(key: str, value: Any, doc: str) -> list[str]:
    """`--key=default  doc`, or for a dataclass a heading and its fields (nested ones opened too)."""
    if not (dataclasses.is_dataclass(value) and not isinstance(value, type)):
        return [f"  --{key}={_default(value)}  {doc}".rstrip()]
    fields = _docs(type(value))
    lines = [f"{key}: {doc}".rstrip()]
    for f in dataclasses.fields(value):
        lines += _option_lines(f"{key}.{f.name}", getattr(value, f.name), fields.get(f.name, ""))
    return lines


def grpodx_help() -> str:
    from grpodx.run.callbacks import AdapterExport, TranscriptLogger
    from grpodx.run.results import ResultsWriter
    from grpodx.train.data import CaseDataModule
    from grpodx.train.module import DoctorGRPO
    from grpodx.train.warmup import WarmUp

    sections: list[tuple[str, str, Callable[..., Any]]] = [
        ("the model (DoctorGRPO)", "model.", DoctorGRPO.__init__),
        ("the cases (CaseDataModule)", "data.", CaseDataModule.__init__),
        ("adapter export", "adapter_export.", AdapterExport.__init__),
        ("transcripts in TensorBoard", "transcripts.", TranscriptLogger.__init__),
        ("results and transcript files", "results.", ResultsWriter.__init__),
        ("supervised warm-up", "warmup.", WarmUp.__init__),
    ]
    out = ["grpodx's own options (fit, validate, test, predict); values shown are the defaults.", ""]
    for title, prefix, target in sections:
        out += [f"{title}:", *group_lines(prefix, target), ""]
    out += [
        "Lightning's Trainer (--trainer.*: max_steps, val_check_interval, devices, logger, ...), checkpointing",
        "(--checkpoint.*) and every option's full text: python -m grpodx fit --help. Configs: --config FILE.",
    ]
    return "\n".join(out)
