"""MediQ (iCraft-MD and MedQA-style) JSONL: one record a line with `context`, `facts`, `answer`, `options`.

The diagnosis is the option at `answer_idx` (what multiple-choice mode grades); when the
`answer` text differs from it (e.g. an older name, a stray space) that text becomes an alias.
The first context sentence, the presenting complaint, is the chief complaint; it stays in the
source's third person, which the patient simulator rephrases. Facts lose their "12. " numbers
and get a kind and ask cues from their words. iCraft-MD is all dermatology, so a file named
like `*craft_md*` gets that body system; any other MediQ file gets "other".
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from grpodx.cases.errors import CaseError
from grpodx.cases.fields import one_string, strings
from grpodx.cases.importers.cues import classify, keywords, parse_age, parse_sex
from grpodx.cases.jsonl import parse_case
from grpodx.cases.schema import Case
from grpodx.cases.tally import ImportReport, json_lines, parse_records
from grpodx.clinical.coding import code_diagnosis


def _options(raw: dict[str, Any], where: str) -> dict[str, str]:
    options = raw.get("options")
    if isinstance(options, list):  # some MedQA exports list the options in A, B, C... order
        options = {chr(65 + i): o for i, o in enumerate(options)}
    if not isinstance(options, dict) or not options or not all(isinstance(v, str) and v.strip() for v in options.values()):
        raise CaseError(where, "options", "must map letters to non-empty option texts")
    return {k: v.strip() for k, v in options.items()}


def _diagnosis(raw: dict[str, Any], options: dict[str, str], where: str) -> tuple[str, tuple[str, ...]]:
    answer = one_string(raw.get("answer"), where, "answer")
    index = raw.get("answer_idx")
    if index is None:
        if answer.lower() not in (o.lower() for o in options.values()):
            raise CaseError(where, "answer", f"{answer!r} is none of the options and there is no answer_idx")
        return answer, ()
    if index not in options:
        raise CaseError(where, "answer_idx", f"must be one of {', '.join(options)}, got {index!r}")
    diagnosis = options[index]
    return diagnosis, (() if answer.lower() == diagnosis.lower() else (answer,))


def _fact(text: str) -> dict[str, Any]:
    text = re.sub(r"^\s*\d+[.)]\s*", "", text).strip()
    return {"kind": classify(text), "text": text, "ask": list(keywords(text))}


def parse_mediq(raw: Any, where: str, stem: str, body_system: str) -> Case:
    if not isinstance(raw, dict):
        raise CaseError(where, "<record>", "must be a JSON object")
    context = strings(raw.get("context"), where, "context")
    facts = strings(raw.get("facts"), where, "facts")
    options = _options(raw, where)
    diagnosis, aliases = _diagnosis(raw, options, where)
    code, coded_system = code_diagnosis(diagnosis)
    given = raw.get("patient")
    patient: dict[str, Any] = given if isinstance(given, dict) else {}
    record_id = raw.get("id")
    if not isinstance(record_id, (int, str)) or isinstance(record_id, bool):
        raise CaseError(where, "id", f"must be a number or string, got {record_id!r}")
    return parse_case(
        {
            "id": f"mediq/{stem}/{record_id}",
            "diagnosis": diagnosis,
            "aliases": list(aliases),
            "icd10": code,
            "body_system": body_system if body_system != "other" else coded_system,  # a file's own system wins
            "age": parse_age(str(patient.get("age", ""))),
            "sex": parse_sex(str(patient.get("gender", ""))),
            "chief_complaint": context[0],
            "facts": [_fact(f) for f in facts],
            "options": list(options.values()),
            "source": "mediq",
        },
        where,
    )


def import_mediq(path: str | Path, skip_invalid: bool = False) -> tuple[list[Case], ImportReport]:
    path = Path(path)
    body_system = "dermatology" if "craft_md" in path.name else "other"
    report = ImportReport(source=f"mediq:{path}")
    cases = parse_records(json_lines(path), lambda raw, where: [parse_mediq(raw, where, path.stem, body_system)], report, skip_invalid, same_content=True)
    return cases, report
