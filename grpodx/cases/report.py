"""What an import did: every record read is either accepted or rejected with a reason."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from grpodx.cases.errors import CaseError

T = TypeVar("T")


@dataclass
class ImportReport:
    """Counts for one source. Invariant: `read == accepted + len(rejected)`."""

    source: str
    read: int = 0
    """Records (lines, conditions, templates) found in the source."""
    accepted: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    """(where, reason) for each record left out, e.g. ('cases.jsonl:17', "field 'age': ...")."""
    cases: int = 0
    """Cases produced; more than `accepted` when a record yields sampled variants."""

    def accept(self, cases: int = 1) -> None:
        self.read += 1
        self.accepted += 1
        self.cases += cases

    def reject(self, error: CaseError) -> None:
        self.read += 1
        self.rejected.append((error.where, f"field '{error.field}': {error.problem}"))

    @property
    def complete(self) -> bool:
        """Nothing lost: every record read was accepted or rejected with a reason."""
        return self.read == self.accepted + len(self.rejected)

    def summary(self, max_rejected: int = 10) -> str:
        lines = [f"{self.source}: read {self.read}, accepted {self.accepted}, rejected {len(self.rejected)}, cases {self.cases}"]
        lines += [f"  rejected {where}: {reason}" for where, reason in self.rejected[:max_rejected]]
        if len(self.rejected) > max_rejected:
            lines.append(f"  ... and {len(self.rejected) - max_rejected} more rejected")
        return "\n".join(lines)


def json_lines(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, record) for each non-blank line; a line that is not JSON yields a CaseError as its record."""
    text = path.read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            yield where, json.loads(line)
        except json.JSONDecodeError as error:
            yield where, CaseError(where, "<json>", f"invalid JSON ({error.msg} at column {error.colno})")


def parse_records(
    records: Iterator[tuple[str, Any]],
    parse: Callable[[Any, str], list[T]],
    report: ImportReport,
    skip_invalid: bool,
) -> list[T]:
    """Parse each record into zero or more items; a bad one raises, or is reported when skip_invalid."""
    items: list[T] = []
    for where, raw in records:
        try:
            if isinstance(raw, CaseError):
                raise raw
            parsed = parse(raw, where)
        except CaseError as error:
            if not skip_invalid:
                raise
            report.reject(error)
            continue
        report.accept(len(parsed))
        items.extend(parsed)
    return items
