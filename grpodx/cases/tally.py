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
    skipped: dict[str, int] = field(default_factory=dict)
    """Fields left out on purpose, with how many records had them (e.g. the examiner's
    'OSCE_Examination.Management_and_Follow_Up')."""
    notes: dict[str, int] = field(default_factory=dict)
    """Other things done to make records fit, counted ('empty Symptoms: opened with the history')."""

    def accept(self, cases: int = 1) -> None:
        self.read += 1
        self.accepted += 1
        self.cases += cases

    def skip(self, name: str) -> None:
        self.skipped[name] = self.skipped.get(name, 0) + 1

    def note(self, what: str) -> None:
        self.notes[what] = self.notes.get(what, 0) + 1

    def reject(self, error: CaseError) -> None:
        self.read += 1
        self.rejected.append((error.where, f"field '{error.field}': {error.problem}"))

    @property
    def complete(self) -> bool:
        """Nothing lost: every record read was accepted or rejected with a reason."""
        return self.read == self.accepted + len(self.rejected)

    def summary(self, max_rejected: int = 10) -> str:
        lines = [f"{self.source}: read {self.read}, accepted {self.accepted}, rejected {len(self.rejected)}, cases {self.cases}"]
        lines += [f"  skipped field {name}: {count} record(s)" for name, count in sorted(self.skipped.items())]
        lines += [f"  {what}: {count} record(s)" for what, count in sorted(self.notes.items())]
        lines += [f"  rejected {where}: {reason}" for where, reason in self.rejected[:max_rejected]]
        if max_rejected and len(self.rejected) > max_rejected:
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
