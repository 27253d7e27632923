"""The built-in bank: disease templates shipped as package data, one JSONL file a body system."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from grpodx.cases.errors import CaseError
from grpodx.cases.fields import check_unknown, normalise_icd10, strings
from grpodx.cases.schema import BODY_SYSTEMS, FACT_KINDS, DiseaseTemplate, TemplateFact
from grpodx.cases.tally import ImportReport, json_lines, parse_records
from grpodx.clinical.text import diagnosis_key

MIN_FACTS = 8


def _fact(raw: Any, where: str, index: int) -> TemplateFact:
    name = f"facts[{index}]"
    if not isinstance(raw, dict):
        raise CaseError(where, name, "must be an object")
    check_unknown(raw, {"kind", "text", "ask", "core", "key"}, where, f"{name}.")
    if raw.get("kind") not in FACT_KINDS:
        raise CaseError(where, f"{name}.kind", f"must be one of {', '.join(FACT_KINDS)}")
    for flag in ("core", "key"):
        if not isinstance(raw.get(flag, False), bool):
            raise CaseError(where, f"{name}.{flag}", "must be true or false")
    return TemplateFact(
        kind=raw["kind"],
        text=strings(raw.get("text"), where, f"{name}.text"),
        ask=tuple(a.lower() for a in strings(raw.get("ask", []), where, f"{name}.ask", allow_empty=True)),
        core=raw.get("core", False) or raw.get("key", False),  # a key fact is in every case
        key=raw.get("key", False),
    )


def parse_template(raw: Any, where: str) -> DiseaseTemplate:
    """Validate one bank record; `where` is 'file:line' for error messages."""
    if not isinstance(raw, dict):
        raise CaseError(where, "<record>", "must be a JSON object")
    check_unknown(raw, {"diagnosis", "aliases", "icd10", "body_system", "age", "sex", "chief_complaint", "facts"}, where)
    diagnosis = strings(raw.get("diagnosis"), where, "diagnosis")
    if len(diagnosis) != 1:
        raise CaseError(where, "diagnosis", "must be one string")
    icd10 = normalise_icd10(raw.get("icd10"), where)
    if raw.get("body_system") not in BODY_SYSTEMS:
        raise CaseError(where, "body_system", f"must be one of {', '.join(BODY_SYSTEMS)}")
    age = raw.get("age")
    if not (isinstance(age, list) and len(age) == 2 and all(isinstance(a, int) for a in age) and 0 <= age[0] <= age[1] <= 110):
        raise CaseError(where, "age", "must be [low, high] with 0 <= low <= high <= 110")
    if raw.get("sex") not in ("female", "male", "any"):
        raise CaseError(where, "sex", "must be 'female', 'male' or 'any'")
    facts = raw.get("facts")
    if not isinstance(facts, list) or len(facts) < MIN_FACTS:
        raise CaseError(where, "facts", f"must be a list of at least {MIN_FACTS} facts")
    return DiseaseTemplate(
        diagnosis=diagnosis[0],
        aliases=strings(raw.get("aliases", []), where, "aliases", allow_empty=True),
        icd10=icd10,
        body_system=raw["body_system"],
        age=(age[0], age[1]),
        sex=raw["sex"],
        chief_complaint=strings(raw.get("chief_complaint"), where, "chief_complaint"),
        facts=tuple(_fact(f, where, i) for i, f in enumerate(facts)),
    )


def load_templates(path: str | Path) -> list[DiseaseTemplate]:
    """Read one bank file; any bad line is an error naming file, line and field."""
    report = ImportReport(source=f"builtin:{path}")
    return parse_records(json_lines(Path(path)), lambda raw, where: [parse_template(raw, where)], report, skip_invalid=False)


@lru_cache(maxsize=1)
def builtin_templates() -> tuple[DiseaseTemplate, ...]:
    """Every template in the built-in bank, validated, sorted by file name then line."""
    folder = resources.files("grpodx.cases") / "bank"
    templates: list[DiseaseTemplate] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".jsonl"):
            with resources.as_file(entry) as path:
                templates.extend(load_templates(path))
    _check_distinct(templates)
    return tuple(templates)


def _check_distinct(templates: list[DiseaseTemplate]) -> None:
    """No name (diagnosis or alias) of one template is, after the judge's normalisation
    (`diagnosis_key`: case, spelling, abbreviations), a name of another: the judge would code
    both to one disease."""
    seen: dict[str, str] = {}
    for template in templates:
        for name in (template.diagnosis, *template.aliases):
            key = diagnosis_key(name)
            if seen.setdefault(key, template.diagnosis) != template.diagnosis:
                raise CaseError(f"bank/{template.body_system}", "diagnosis", f"duplicate diagnosis {name!r}: also a name of {seen[key]!r}")
