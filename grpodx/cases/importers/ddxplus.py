"""DDXPlus knowledge base: conditions and their evidences become one disease template each.

Every condition yields one canonical case with all its evidences, plus `variants_per_disease - 1`
seeded variants (a subset of at least half the evidences, shuffled; age, sex, wording varied).
Patient answers come from each evidence's `question_en`, turned into a first-person statement
where a simple rule fits ("Do you have a cough?" -> "I have a cough."), otherwise the question
answered ("Did you lose consciousness? Yes."). Symptoms are `symptom` facts; antecedents are
`history`, `social`, `family` or `medication` by their wording. Ask cues are the question's words.

The knowledge base gives no per-condition values, so: 0-10 scales (pain intensity, itching)
get plausible values (each variant picks one); named-value follow-ups whose default means "no"
("Where is the swelling located?": nowhere) are answered yes without naming a value; the rest
(pain character, rash colour) would need a value the source does not give, and are left out.
An evidence whose question names the condition itself ("Have you or any member of your family
ever had croup?") is left out of that condition, because the patient must never say the
diagnosis. DDXPlus has no examination or test evidences, so its cases hold reported facts only. Age ranges
come from a small table of paediatric and late-life conditions, otherwise 18-80; sex is
either, and a man's case leaves out the evidences only a woman can have (pregnancy,
menstruation), which the knowledge base lists as risk factors of conditions both sexes get.

`initial_evidence=True` plays DDXPlus the way its agents do (the `ddxplus-initial` source): each
case opens with one of its condition's symptoms, as a DDXPlus patient's INITIAL_EVIDENCE does,
and that symptom is not repeated among the facts; everything else comes only by asking. The
opening symptom is drawn by the case seed among the condition's symptoms that other conditions
share (a symptom only one condition has would name it), so the 49 pathologies fall into
clusters by shared initial symptom: `Case.cluster` is the opening symptom, and every condition
with that symptom opens the same way. (DDXPlus draws the initial evidence per synthetic patient;
the knowledge base alone gives no frequencies, so every shared symptom is equally likely.)
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

from grpodx.cases.errors import CaseError
from grpodx.cases.fields import body_system_for_icd10, normalise_icd10, one_string
from grpodx.cases.importers.cues import classify, keywords
from grpodx.cases.schema import Case, DiseaseTemplate, TemplateFact
from grpodx.cases.tally import ImportReport, parse_records
from grpodx.cases.variation import instantiate
from grpodx.clinical.text import names_pattern

AGE_RANGES = {  # general epidemiology of the conditions DDXPlus names
    "Bronchiolitis": (0, 2),
    "Croup": (1, 6),
    "Acute otitis media": (1, 12),
    "Whooping cough": (1, 60),
    "Pulmonary neoplasm": (50, 85),
    "Pancreatic neoplasm": (50, 85),
    "Stable angina": (45, 85),
    "Unstable angina": (45, 85),
    "Possible NSTEMI / STEMI": (45, 85),
    "Acute COPD exacerbation / infection": (50, 85),
    "Atrial fibrillation": (50, 90),
    "Acute pulmonary edema": (50, 90),
}
EXTRA_ALIASES = {  # abbreviations and the usual full names, so the judge accepts either
    "GERD": ("gastroesophageal reflux disease", "gastro-oesophageal reflux disease", "GORD"),
    "PSVT": ("paroxysmal supraventricular tachycardia", "SVT"),
    "SLE": ("systemic lupus erythematosus", "lupus"),
    "URTI": ("upper respiratory tract infection", "common cold"),
    "Whooping cough": ("pertussis",),
    "Boerhaave": ("Boerhaave syndrome", "oesophageal rupture", "esophageal rupture"),
    "Chagas": ("Chagas disease", "American trypanosomiasis"),
    "Ebola": ("Ebola virus disease",),
    "Larygospasm": ("laryngospasm",),
    "Anemia": ("anaemia",),
    "Atrial fibrillation": ("AF", "AFib"),
    "HIV (initial infection)": ("HIV", "acute HIV infection", "primary HIV infection", "acute retroviral syndrome"),
    "Possible NSTEMI / STEMI": ("NSTEMI", "STEMI", "myocardial infarction", "acute myocardial infarction", "heart attack", "MI"),
    "Bronchospasm / acute asthma exacerbation": ("bronchospasm", "acute asthma exacerbation", "asthma exacerbation", "asthma attack"),
    "Acute COPD exacerbation / infection": ("acute COPD exacerbation", "COPD exacerbation", "AECOPD"),
}
FEMALE_ONLY = re.compile(r"pregnan|menstrua|vaginal|breastfed", re.I)
FIRST_PERSON = (
    (re.compile(r"^do you have (.*)\?$", re.I), "I have {}."),
    (re.compile(r"^do you (.*)\?$", re.I), "I {}."),
    (re.compile(r"^have you (.*)\?$", re.I), "I have {}."),
    (re.compile(r"^are you (.*)\?$", re.I), "I am {}."),
    (re.compile(r"^is your (\w+) (?!or\b)(.*)\?$", re.I), "My {} is {}."),
)
SWAPS = (
    (r"\bor do you\b", "or I"),
    (r"\bor am I\b", "or I am"),
    (r"\bor have you\b", "or I have"),
    (r"\bor do I\b", "or I"),
    (r"\bor have I\b", "or I have"),
    (r"\bare you\b", "I am"),
    (r"\byou are\b", "I am"),
    (r"\byour\b", "my"),
    (r"\bever\s+", ""),
    (r"\bany\b", "some"),
)


def first_person(question: str) -> str | None:
    """'Do you have a cough?' -> 'I have a cough.'; None when no rule gives a clean statement."""
    for pattern, form in FIRST_PERSON:
        match = pattern.match(question.strip())
        if match:
            text = form.format(*match.groups())
            for old, new in SWAPS:
                text = re.sub(old, new, text, flags=re.I)
            return None if re.search(r"\byou\b", text, re.I) else text
    return None


def answer_texts(evidence: dict[str, Any]) -> tuple[str, ...]:
    """The patient's wordings for a present evidence; () when the source lacks the value."""
    question = evidence["question_en"].strip()
    values, meanings = evidence.get("possible-values") or [], evidence.get("value_meaning") or {}
    if evidence["data_type"] == "B":
        statement = first_person(question)
        return (statement,) if statement else (f"{question} Yes.",)
    if values and not meanings and all(isinstance(v, int) for v in values):  # a 0-10 scale
        return tuple(f"{question} About {n} out of {max(values)}." for n in range(4, min(9, max(values)) + 1))
    default = meanings.get(str(evidence.get("default_value")), {}).get("en", "")
    if default not in ("N", "nowhere"):
        return ()
    if set(meanings) <= {"V_10", "V_12"}:  # N / Y
        return (f"{question} Yes.",)
    return (f"{question} {'I' if question.startswith('Where') else 'Yes, but I'} can't describe it precisely.",)


def _facts(raw: dict[str, Any], evidences: dict[str, Any], where: str, names: re.Pattern[str]) -> list[TemplateFact]:
    facts = []
    for group, default in (("symptoms", "symptom"), ("antecedents", "history")):
        if not isinstance(raw.get(group), dict):
            raise CaseError(where, group, "must be an object keyed by evidence id")
        for key in raw[group]:
            if key not in evidences:
                raise CaseError(where, f"{group}.{key}", "is not in release_evidences.json")
            texts = answer_texts(evidences[key])
            if texts and not any(names.search(t) for t in texts):
                question = evidences[key]["question_en"]
                kind = default if default == "symptom" else classify(question, default, reported_only=True)
                facts.append(TemplateFact(kind=kind, text=texts, ask=keywords(question, limit=8)))
    if not facts:
        raise CaseError(where, "symptoms", "no evidence of this condition can be stated as a patient answer")
    return facts


def condition_template(key: str, raw: Any, evidences: dict[str, Any], where: str) -> DiseaseTemplate:
    if not isinstance(raw, dict):
        raise CaseError(where, "<record>", "must be an object")
    name = one_string(raw.get("cond-name-eng", raw.get("condition_name")), where, "cond-name-eng")
    icd10 = normalise_icd10(raw.get("icd10-id"), where, "icd10-id")
    aliases = {raw.get("condition_name", name), *EXTRA_ALIASES.get(name, ())} - {name}
    pattern = names_pattern((name, *aliases))
    assert pattern is not None  # one_string: the name is never empty
    facts = _facts(raw, evidences, where, pattern)
    complaints = [first_person(evidences[k]["question_en"]) for k in raw["symptoms"] if evidences[k]["code_question"] in (k, None)]
    return DiseaseTemplate(
        diagnosis=name,
        aliases=tuple(sorted(aliases, key=str.lower)),
        icd10=icd10,
        body_system=body_system_for_icd10(icd10),
        age=AGE_RANGES.get(name, (18, 80)),
        sex="any",
        chief_complaint=tuple(c for c in complaints if c)[:4] or ("I haven't been feeling well.",),
        facts=tuple(facts),
    )


def condition_cases(template: DiseaseTemplate, seed: int, count: int, source: str = "ddxplus") -> list[Case]:
    """The canonical case (every evidence) and `count - 1` sampled variants."""
    if count < 1:
        raise ValueError(f"variants_per_disease must be at least 1, got {count}")
    cases = [instantiate(template, seed + k, source=source, all_facts=k == 0) for k in range(count)]
    return [dataclasses.replace(c, facts=tuple(f for f in c.facts if not FEMALE_ONLY.search(f.text))) if c.sex == "male" else c for c in cases]


def opening_symptoms(raw: dict[str, Any], evidences: dict[str, Any]) -> dict[str, str]:
    """A condition's yes/no symptoms a patient can open with: evidence id -> first-person statement."""
    found = {}
    for key in raw.get("symptoms", {}):
        evidence = evidences.get(key, {})
        statement = first_person(evidence.get("question_en", "")) if evidence.get("data_type") == "B" else None
        if statement and evidence.get("code_question") in (key, None):
            found[key] = statement
    return found


def initial_evidence_cases(template: DiseaseTemplate, openings: dict[str, str], shared: dict[str, int], seed: int, count: int) -> list[Case]:
    """`count` cases of `template`, each opening with one shared symptom (drawn by the case seed),
    that symptom left out of the facts and named as the case's cluster."""
    eligible = sorted(k for k in openings if shared[k] > 1) or sorted(openings)
    if not eligible:
        return []
    cases = []
    for case, k in zip(condition_cases(template, seed, count, source="ddxplus-initial"), range(count)):
        statement = openings[random.Random(f"{template.diagnosis}\x00initial\x00{seed + k}").choice(eligible)]
        facts = tuple(f for f in case.facts if f.text != statement)
        cases.append(dataclasses.replace(case, chief_complaint=statement, facts=facts, cluster=statement))
    return cases


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"DDXPlus: {path} is missing (the folder needs release_conditions.json and release_evidences.json)") from None
    except json.JSONDecodeError as error:
        raise CaseError(f"{path}:{error.lineno}", "<json>", f"invalid JSON ({error.msg})") from None
    if not isinstance(data, dict):
        raise CaseError(str(path), "<record>", "must be a JSON object keyed by name")
    return data


def _check_evidences(evidences: dict[str, Any], path: Path) -> None:
    """Evidences are shared by every condition, so a bad one fails the import whatever skip_invalid says."""
    for key, evidence in evidences.items():
        where = f"{path}:{key}"
        if not isinstance(evidence, dict):
            raise CaseError(where, "<record>", "must be an object")
        one_string(evidence.get("question_en"), where, "question_en")
        if evidence.get("data_type") not in ("B", "C", "M"):
            raise CaseError(where, "data_type", f"must be B, C or M, got {evidence.get('data_type')!r}")


def import_ddxplus(
    path: str | Path, seed: int = 0, variants_per_disease: int = 1, skip_invalid: bool = False, initial_evidence: bool = False
) -> tuple[list[Case], ImportReport]:
    """`path` is the DDXPlus folder or its release_conditions.json; one record is one condition.
    `initial_evidence`: open each case with one shared symptom and leave the rest to questions."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    conditions_path, evidences_path = folder / "release_conditions.json", folder / "release_evidences.json"
    conditions, evidences = _load(conditions_path), _load(evidences_path)
    _check_evidences(evidences, evidences_path)
    report = ImportReport(source=f"{'ddxplus-initial' if initial_evidence else 'ddxplus'}:{folder}")
    records = ((f"{conditions_path}:{key}", raw) for key, raw in conditions.items())
    openings = {key: opening_symptoms(raw, evidences) for key, raw in conditions.items() if isinstance(raw, dict)}
    shared = Counter(k for found in openings.values() for k in found)

    def parse(raw: Any, where: str) -> list[Case]:
        key = where.rsplit(":", 1)[1]
        template = condition_template(key, raw, evidences, where)
        if not initial_evidence:
            return condition_cases(template, seed, variants_per_disease)
        cases = initial_evidence_cases(template, openings[key], shared, seed, variants_per_disease)
        if not cases:
            raise CaseError(where, "symptoms", "no yes/no symptom a patient can open with (initial-evidence mode)")
        return cases

    return parse_records(records, parse, report, skip_invalid), report
