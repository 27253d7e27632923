"""AgentClinic OSCE JSONL: one `{"OSCE_Examination": {...}}` object a line.

Patient_Actor fields become reported facts: prose is split into sentences, each classified
("Denies fever." is a negative) and put in the patient's voice (`voice.first_person`); a prose
field given as an object of sub-headings becomes labelled facts ("Review of systems, ENT:
..."); a field outside the usual ones ("Occupation") is kept with its name as a label. An
empty `Symptoms` falls back to the history's first sentence as the chief complaint.
Physical_Examination_Findings and Test_Results, nested objects of any depth, become one exam or
test fact per leaf, named by its key path ("Vital signs, blood pressure: 150/95 mmHg").
An OSCE field outside the usual ones is kept as facts of the kind its name says (exam, test,
history) or, when it is the examiner's (Management_and_Follow_Up, Objective_for_Doctor: they
may name the answer), skipped and counted in the report. The diagnosis is coded (bank name,
else ICD-10-CM) for its code and body system. A record that is truly broken still fails with
`file:line: field`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grpodx.cases.errors import CaseError
from grpodx.cases.fields import one_string, strings
from grpodx.cases.importers.cues import classify, humanise, keywords, parse_age, parse_infant_age, parse_sex, sentences
from grpodx.cases.importers.voice import first_person
from grpodx.cases.jsonl import parse_case
from grpodx.cases.schema import MEASURED_KINDS, Case
from grpodx.cases.tally import ImportReport, json_lines, parse_records
from grpodx.clinical.coding import code_diagnosis

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

# An OSCE field outside OSCE_FIELDS, by what its name says; the examiner's fields are skipped.
EXTRA_KINDS = (
    (re.compile(r"manage|treat|plan|follow|diagnos|objective|discussion|teaching|outcome", re.I), None),
    (re.compile(r"exam|finding|sign|vital", re.I), "exam"),
    (re.compile(r"test|result|lab|imaging|investigat|radiolog|patholog|biops", re.I), "test"),
    (re.compile(r"histor|social|family|medicat", re.I), "history"),
)


Voice = Callable[[str], str]


def _fact(kind: str, text: str, cues: str = "") -> dict[str, Any]:
    return {"kind": kind, "text": text, "ask": list(keywords(f"{cues} {text}", limit=8))}


def _reported(sentence: str, default: str, voice: Voice, label: str = "", cues: str = "") -> dict[str, Any]:
    """A fact the patient reports: in the patient's voice, classified as voiced ('The mother
    reports the baby vomits' is the baby's symptom, not family history), after its label."""
    text = voice(sentence)
    return _fact(classify(text, default), f"{label.capitalize()}: {text}" if label else text, cues or label)


def _leaves(value: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], str]]:
    """(key path, text) for every leaf of nested objects; lists of scalars join into one text."""
    if isinstance(value, dict):
        return [leaf for key, inner in value.items() for leaf in _leaves(inner, (*path, humanise(key)))]
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        return [leaf for i, inner in enumerate(value) for leaf in _leaves(inner, path if len(value) == 1 else (*path, str(i + 1)))]
    if value is None or value == "" or value == []:
        return []
    text = "; ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    return [(path, text)]


def _prose_facts(value: Any, kind: str, label: str, voice: Voice, where: str, name: str) -> list[dict[str, Any]]:
    """Facts from a prose field: a string (or list of strings) split into sentences, or an
    object of sub-headings, each leaf labelled ('Review of systems, ENT: ...')."""
    if isinstance(value, dict):
        facts = []
        for path, text in _leaves(value, ()):
            heading = ", ".join((label, *path)) if label else ", ".join(path)
            facts += [_reported(s, kind, voice, heading, cues=" ".join(path)) for s in sentences(text)]
        return facts
    if isinstance(value, list) and not value or value == "":
        return []
    return [_reported(s, kind, voice, label) for text in strings(value, where, name) for s in sentences(text)]


def _symptoms(actor: dict[str, Any], voice: Voice, where: str) -> tuple[str | None, list[dict[str, Any]]]:
    """(primary symptom or None when the record gives none, facts of the secondary symptoms)."""
    symptoms = actor.get("Symptoms", {})
    if isinstance(symptoms, str):
        symptoms = {"Primary_Symptom": symptoms}
    if not isinstance(symptoms, dict):
        raise CaseError(where, "Patient_Actor.Symptoms", "must be an object with Primary_Symptom and Secondary_Symptoms")
    primary = symptoms.get("Primary_Symptom")
    if primary is not None and not isinstance(primary, str):
        raise CaseError(where, "Patient_Actor.Symptoms.Primary_Symptom", "must be a string")
    secondary = symptoms.get("Secondary_Symptoms", [])
    if isinstance(secondary, str):
        secondary = [p for p in re.split(r"[;,]\s*", secondary) if p.strip()]
    texts = strings(secondary, where, "Patient_Actor.Symptoms.Secondary_Symptoms", allow_empty=True)
    # A listed "symptom" may be a medicine or a history item ("Taking ibuprofen"): classify it.
    facts = [_reported(t if t.endswith(".") else t + ".", "symptom", voice) for t in texts]
    return (primary.strip() or None) if primary else None, facts


def _actor_facts(actor: dict[str, Any], voice: Voice, where: str) -> list[dict[str, Any]]:
    facts = []
    for field, value in actor.items():
        if field in ("Demographics", "Symptoms"):
            continue
        # A field outside the usual set (e.g. "Occupation") is kept, its key as a label and cue.
        label = "" if field in ACTOR_KINDS else humanise(field)
        if isinstance(value, dict) and field in ACTOR_KINDS:
            label = humanise(field)  # sub-headings need their field's name: "Review of systems, ENT"
        facts += _prose_facts(value, ACTOR_KINDS.get(field, "history"), label, voice, where, f"Patient_Actor.{field}")
    return facts


def _measured_facts(raw: Any, kind: str, where: str, name: str) -> list[dict[str, Any]]:
    if isinstance(raw, str):
        raw = {"": raw}
    if not isinstance(raw, dict):
        raise CaseError(where, name, "must be an object (nested objects allowed)")
    facts = []
    for path, text in _leaves(raw, ()):
        label = ", ".join(p for p in path if p).capitalize()
        facts.append(_fact(kind, f"{label}: {text}" if label else text, cues=" ".join(path)))
    return facts


def _extra_facts(osce: dict[str, Any], voice: Voice, where: str, report: ImportReport) -> list[dict[str, Any]]:
    facts = []
    for field in sorted(set(osce) - OSCE_FIELDS):
        kind = next((k for pattern, k in EXTRA_KINDS if pattern.search(field)), None)
        if kind is None:
            report.skip(f"OSCE_Examination.{field}")
        elif kind in MEASURED_KINDS:
            facts += _measured_facts(osce[field], kind, where, f"OSCE_Examination.{field}")
        else:
            facts += _prose_facts(osce[field], kind, humanise(field), voice, where, f"OSCE_Examination.{field}")
    return facts


def parse_osce(raw: Any, where: str, stem: str, report: ImportReport) -> Case:
    if not isinstance(raw, dict) or not isinstance(raw.get("OSCE_Examination"), dict):
        raise CaseError(where, "OSCE_Examination", "must be an object")
    osce = raw["OSCE_Examination"]
    actor = osce.get("Patient_Actor")
    if not isinstance(actor, dict):
        raise CaseError(where, "OSCE_Examination.Patient_Actor", "must be an object")
    demographics = str(actor.get("Demographics", ""))
    infant = bool(parse_infant_age(demographics))
    voice: Voice = lambda sentence: first_person(sentence, infant=infant)  # noqa: E731
    primary, facts = _symptoms(actor, voice, where)
    facts += _actor_facts(actor, voice, where)
    if primary is None:  # an empty Symptoms object: the history's first sentence opens instead
        primary = next((f["text"] for f in facts if f["kind"] in ("symptom", "negative")), None)
        if primary is None:
            raise CaseError(where, "Patient_Actor.Symptoms.Primary_Symptom", "missing, and no History to open with instead")
        report.note("empty Symptoms: opened with the history")
    facts += _measured_facts(osce.get("Physical_Examination_Findings", {}), "exam", where, "Physical_Examination_Findings")
    facts += _measured_facts(osce.get("Test_Results", {}), "test", where, "Test_Results")
    facts += _extra_facts(osce, voice, where, report)
    diagnosis = one_string(osce.get("Correct_Diagnosis"), where, "Correct_Diagnosis")
    code, body_system = code_diagnosis(diagnosis)
    return parse_case(
        {
            "id": f"agentclinic/{stem}/{where.rsplit(':', 1)[1]}",
            "diagnosis": diagnosis,
            "icd10": code,
            "body_system": body_system,
            "age": parse_age(demographics),
            "infant_age": parse_infant_age(demographics),
            "sex": parse_sex(demographics),
            "chief_complaint": voice(primary),
            "facts": facts,
            "source": "agentclinic",
        },
        where,
    )


def import_agentclinic(path: str | Path, skip_invalid: bool = False) -> tuple[list[Case], ImportReport]:
    path = Path(path)
    report = ImportReport(source=f"agentclinic:{path}")
    cases = parse_records(json_lines(path), lambda raw, where: [parse_osce(raw, where, path.stem, report)], report, skip_invalid, same_content=True)
    return cases, report
