"""AgentClinic OSCE JSONL: one `{"OSCE_Examination": {...}}` object a line.

Patient_Actor fields become reported facts (History and Review_of_Systems split into
sentences, each classified, so "Denies fever." is a negative; a field outside the usual ones,
such as "Occupation", is kept with its name as a label); Physical_Examination_Findings
and Test_Results, nested dicts of any depth, are flattened into one exam or test fact per leaf,
named by its key path ("Vital signs, blood pressure: 150/95 mmHg"). Test_Results may be absent.
Objective_for_Doctor is the examiner's brief, not the patient's, so it is left out on purpose.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grpodx.cases.errors import CaseError
from grpodx.cases.fields import check_unknown, one_string, strings
from grpodx.cases.importers.text import classify, humanise, keywords, parse_age, parse_sex, sentences
from grpodx.cases.jsonl import parse_case
from grpodx.cases.report import ImportReport, json_lines, parse_records
from grpodx.cases.schema import Case

OSCE_FIELDS = {"Objective_for_Doctor", "Patient_Actor", "Physical_Examination_Findings", "Test_Results", "Correct_Diagnosis"}

# Patient_Actor prose fields and the kind their sentences default to (negations become negative).
ACTOR_KINDS = {
    "History": "symptom",
    "Past_Medical_History": "history",
    "Social_History": "social",
    "Family_History": "family",
    "Medications": "medication",
    "Allergies": "history",
    "Review_of_Systems": "symptom",
}


def _fact(kind: str, text: str, cues: str = "") -> dict[str, Any]:
    return {"kind": kind, "text": text, "ask": list(keywords(f"{cues} {text}", limit=8))}


def _prose(value: Any, where: str, name: str) -> list[str]:
    return [s for text in strings(value, where, name) for s in sentences(text)]


def _symptoms(actor: dict[str, Any], where: str) -> dict[str, Any]:
    symptoms = actor.get("Symptoms")
    if not isinstance(symptoms, dict):
        raise CaseError(where, "Patient_Actor.Symptoms", "must be an object with Primary_Symptom and Secondary_Symptoms")
    return symptoms


def _actor_facts(actor: dict[str, Any], where: str) -> list[dict[str, Any]]:
    facts = []
    symptoms = _symptoms(actor, where)
    secondary = strings(symptoms.get("Secondary_Symptoms", []), where, "Patient_Actor.Symptoms.Secondary_Symptoms", allow_empty=True)
    facts += [_fact("symptom", s if s.endswith(".") else s + ".") for s in secondary]
    for field, value in actor.items():
        if field in ("Demographics", "Symptoms"):
            continue
        # A field outside the usual set (e.g. "Occupation") is kept, its key as a label and cue.
        label = "" if field in ACTOR_KINDS else f"{humanise(field).capitalize()}: "
        kind = ACTOR_KINDS.get(field, "history")
        for sentence in _prose(value, where, f"Patient_Actor.{field}"):
            facts.append(_fact(classify(sentence, kind), label + sentence, cues=humanise(field) if label else ""))
    return facts


def _leaves(value: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], str]]:
    """(key path, text) for every leaf of nested dicts; lists of scalars join into one text."""
    if isinstance(value, dict):
        return [leaf for key, inner in value.items() for leaf in _leaves(inner, (*path, humanise(key)))]
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        return [leaf for i, inner in enumerate(value) for leaf in _leaves(inner, path if len(value) == 1 else (*path, str(i + 1)))]
    if value is None or value == "" or value == []:
        return []
    text = "; ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    return [(path, text)]


def _measured_facts(raw: Any, kind: str, where: str, name: str) -> list[dict[str, Any]]:
    if not isinstance(raw, dict):
        raise CaseError(where, name, "must be an object (nested objects allowed)")
    facts = []
    for path, text in _leaves(raw, ()):
        label = ", ".join(path).capitalize()
        facts.append(_fact(kind, f"{label}: {text}" if label else text, cues=" ".join(path)))
    return facts


def parse_osce(raw: Any, where: str, stem: str) -> Case:
    if not isinstance(raw, dict) or not isinstance(raw.get("OSCE_Examination"), dict):
        raise CaseError(where, "OSCE_Examination", "must be an object")
    osce = raw["OSCE_Examination"]
    check_unknown(osce, OSCE_FIELDS, where, "OSCE_Examination.")
    actor = osce.get("Patient_Actor")
    if not isinstance(actor, dict):
        raise CaseError(where, "OSCE_Examination.Patient_Actor", "must be an object")
    primary = one_string(_symptoms(actor, where).get("Primary_Symptom"), where, "Patient_Actor.Symptoms.Primary_Symptom")
    demographics = str(actor.get("Demographics", ""))
    facts = _actor_facts(actor, where)
    facts += _measured_facts(osce.get("Physical_Examination_Findings", {}), "exam", where, "Physical_Examination_Findings")
    facts += _measured_facts(osce.get("Test_Results", {}), "test", where, "Test_Results")
    return parse_case(
        {
            "id": f"agentclinic/{stem}/{where.rsplit(':', 1)[1]}",
            "diagnosis": one_string(osce.get("Correct_Diagnosis"), where, "Correct_Diagnosis"),
            "age": parse_age(demographics),
            "sex": parse_sex(demographics),
            "chief_complaint": primary,
            "facts": facts,
            "source": "agentclinic",
        },
        where,
    )


def import_agentclinic(path: str | Path, skip_invalid: bool = False) -> tuple[list[Case], ImportReport]:
    path = Path(path)
    report = ImportReport(source=f"agentclinic:{path}")
    cases = parse_records(json_lines(path), lambda raw, where: [parse_osce(raw, where, path.stem)], report, skip_invalid)
    return cases, report
