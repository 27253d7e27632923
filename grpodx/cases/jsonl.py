"""Concrete cases as JSONL, one `Case` object a line: the project's own interchange format.

Fields: id, diagnosis, aliases, icd10, body_system, age, sex, chief_complaint,
facts [{kind, text, ask, key}], options, source, infant_age ('8 months'), cluster. Required: id, diagnosis, chief_complaint, facts;
the rest default to empty / unknown ("other" for body_system).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

from grpodx.cases.errors import CaseError
from grpodx.cases.fields import check_unknown, normalise_icd10, one_string, strings
from grpodx.cases.schema import BODY_SYSTEMS, FACT_KINDS, SEXES, Case, Fact
from grpodx.cases.tally import ImportReport, json_lines, parse_records

CASE_FIELDS = {"id", "diagnosis", "aliases", "icd10", "body_system", "age", "sex", "chief_complaint", "facts", "options", "source", "infant_age", "cluster"}


def parse_fact(raw: Any, where: str, index: int) -> Fact:
    name = f"facts[{index}]"
    if not isinstance(raw, dict):
        raise CaseError(where, name, "must be an object with kind, text and ask")
    check_unknown(raw, {"kind", "text", "ask", "key"}, where, f"{name}.")
    if raw.get("kind") not in FACT_KINDS:
        raise CaseError(where, f"{name}.kind", f"must be one of {', '.join(FACT_KINDS)}, got {raw.get('kind')!r}")
    ask = strings(raw.get("ask", []), where, f"{name}.ask", allow_empty=True)
    if not isinstance(raw.get("key", False), bool):
        raise CaseError(where, f"{name}.key", f"must be true or false, got {raw.get('key')!r}")
    text = one_string(raw.get("text"), where, f"{name}.text")
    return Fact(kind=raw["kind"], text=text, ask=tuple(a.lower() for a in ask), key=raw.get("key", False))


def _age(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 120:
        raise CaseError(where, "age", f"must be a whole number of years 0..120 or null, got {value!r}")
    return value


def _options(raw: dict[str, Any], names: tuple[str, ...], where: str) -> tuple[str, ...]:
    options = strings(raw.get("options", []), where, "options", allow_empty=True)
    lowered = {n.lower() for n in names}
    if options and not any(o.lower() in lowered for o in options):
        raise CaseError(where, "options", "must include the diagnosis (or one of its aliases)")
    return options


def parse_case(raw: Any, where: str) -> Case:
    """Validate one case record; `where` ('file:line') and the field name every error."""
    if not isinstance(raw, dict):
        raise CaseError(where, "<record>", "must be a JSON object")
    check_unknown(raw, CASE_FIELDS, where)
    diagnosis = one_string(raw.get("diagnosis"), where, "diagnosis")
    aliases = strings(raw.get("aliases", []), where, "aliases", allow_empty=True)
    if raw.get("body_system", "other") not in BODY_SYSTEMS:
        raise CaseError(where, "body_system", f"must be one of {', '.join(BODY_SYSTEMS)}")
    if raw.get("sex") not in (*SEXES, None):
        raise CaseError(where, "sex", f"must be 'female', 'male' or null, got {raw.get('sex')!r}")
    facts = raw.get("facts")
    if not isinstance(facts, list) or not facts:
        raise CaseError(where, "facts", "must be a non-empty list of facts")
    return Case(
        id=one_string(raw.get("id"), where, "id"),
        diagnosis=diagnosis,
        aliases=aliases,
        icd10=normalise_icd10(raw.get("icd10", ""), where, allow_empty=True),
        body_system=raw.get("body_system", "other"),
        age=_age(raw.get("age"), where),
        sex=raw.get("sex"),
        chief_complaint=one_string(raw.get("chief_complaint"), where, "chief_complaint"),
        facts=tuple(parse_fact(f, where, i) for i, f in enumerate(facts)),
        options=_options(raw, (diagnosis, *aliases), where),
        source=one_string(raw.get("source", "jsonl"), where, "source"),
        infant_age=_infant_age(raw.get("infant_age", ""), where),
        cluster=_cluster(raw.get("cluster", ""), where),
    )


def _cluster(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise CaseError(where, "cluster", f"must be a string (the presentation cluster, '' for none), got {value!r}")
    return value.strip()


def _infant_age(value: Any, where: str) -> str:
    if value == "":
        return ""
    if not isinstance(value, str) or not re.fullmatch(r"\d{1,2} (days?|weeks?|months?)", value):
        raise CaseError(where, "infant_age", f"must be like '8 months', '3 weeks' or '2 days', got {value!r}")
    return value


def case_to_dict(case: Case) -> dict[str, Any]:
    record = asdict(case)
    record["facts"] = [{"kind": f.kind, "text": f.text, "ask": list(f.ask), **({"key": True} if f.key else {})} for f in case.facts]
    return {k: list(v) if isinstance(v, tuple) else v for k, v in record.items()}


def read_cases(path: str | Path, skip_invalid: bool = False) -> tuple[list[Case], ImportReport]:
    """Read a case JSONL file. A bad record raises `CaseError` unless `skip_invalid`; then it is reported.

    A repeated id is a bad record: ids name cases in transcripts and `cases show`.
    """
    path = Path(path)
    report = ImportReport(source=f"jsonl:{path}")
    return parse_records(json_lines(path), lambda raw, where: [parse_case(raw, where)], report, skip_invalid), report


def write_cases(path: str | Path, cases: list[Case]) -> None:
    """Write cases as JSONL; `read_cases` reads them back unchanged."""
    lines = [json.dumps(case_to_dict(c), ensure_ascii=False) for c in cases]
    Path(path).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
