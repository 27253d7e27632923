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


MAX_RECORD_BYTES = 1_000_000
"""Longest line a case file may hold (1 MB): a bigger record is refused before it is parsed (a
50 MB fact took 3 minutes and 10 GB before, then was cut short). Fields have their own limit
(`grpodx.cases.fields.MAX_TEXT_CHARS`)."""


def json_lines(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, record) for each non-blank line; a line that is not UTF-8, not JSON, nested too
    deep or over `MAX_RECORD_BYTES` yields a CaseError naming file and line as its record."""
    with open(path, "rb") as file:
        for number, raw in enumerate(file, start=1):
            where = f"{path}:{number}"
            yield where, _record(raw, where)


def _record(raw: bytes, where: str) -> Any:
    if len(raw) > MAX_RECORD_BYTES:
        return CaseError(where, "<record>", f"is {len(raw):,} bytes, more than the {MAX_RECORD_BYTES:,} a case may hold")
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return CaseError(where, "<encoding>", f"is not UTF-8 (byte 0x{raw[error.start]:02x} at column {error.start + 1})")
    if not line.strip():
        return None
    try:
        return json.loads(line)
    except json.JSONDecodeError as error:
        return CaseError(where, "<json>", f"invalid JSON ({error.msg} at column {error.colno})")
    except RecursionError:
        return CaseError(where, "<json>", "is nested too deeply to be a case")


def parse_records(
    records: Iterator[tuple[str, Any]],
    parse: Callable[[Any, str], list[T]],
    report: ImportReport,
    skip_invalid: bool,
    *,
    same_content: bool = False,
) -> list[T]:
    """Parse each record into zero or more items; a bad one raises, or is reported when skip_invalid.
    A repeated id is bad in every format; `same_content` also refuses a repeated case under a new
    id, for importers that make ids from line numbers (AgentClinic, MediQ)."""
    items: list[T] = []
    seen: dict[Any, str] = {}
    for where, raw in records:
        if raw is None:  # a blank line
            continue
        try:
            if isinstance(raw, CaseError):
                raise raw
            parsed = parse(raw, where)
            _check_unique(parsed, where, seen, same_content)
        except CaseError as error:
            if not skip_invalid:
                raise
            report.reject(error)
            continue
        report.accept(len(parsed))
        items.extend(parsed)
    return items


def _check_unique(parsed: list[Any], where: str, seen: dict[Any, str], same_content: bool) -> None:
    """A record that repeats an id (or a template's diagnosis, which makes its ids), or (with
    `same_content`) a whole case under another id, is an error: duplicates can land in train
    and test at once."""
    for item in parsed:
        keys = [("id", item.id)] if hasattr(item, "id") else [("diagnosis", str(item.diagnosis).lower())]
        keys += [("case", _content(item))] if same_content and hasattr(item, "id") else []
        for kind, key in keys:
            first = seen.get((kind, key))
            if first and kind == "case":
                raise CaseError(where, "<record>", f"repeats the case at {first} under another id")
            if first:
                raise CaseError(where, kind, f"duplicate {kind} {key!r} (first at {first})")
        for kind, key in keys:
            seen[(kind, key)] = where


def _content(case: Any) -> tuple[Any, ...]:
    return (case.diagnosis, case.chief_complaint, case.age, case.sex, tuple((f.kind, f.text) for f in case.facts))
