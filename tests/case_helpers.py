"""Small bank-format templates for tests that must not depend on the shipped bank's content."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA = next((p / "shared" / "data" for p in Path(__file__).resolve().parents if (p / "shared" / "data").is_dir()), Path("shared/data"))
"""Public data sets (shared/data beside the repository, or above it for a worktree); read in place, never copied."""
FIXTURES = Path(__file__).resolve().parent / "fixtures"

KINDS = ["symptom", "symptom", "negative", "history", "medication", "social", "family", "exam", "test", "test"]


def template_record(name: str, system: str = "respiratory", sex: str = "any") -> dict[str, Any]:
    facts = [
        {"kind": kind, "core": i < 2, "text": [f"Finding {i}, wording A.", f"Finding {i}, wording B."], "ask": [f"cue{i}"]}
        for i, kind in enumerate(KINDS)
    ]
    return {
        "diagnosis": name,
        "aliases": [f"{name} alias"],
        "icd10": "J18.9",
        "body_system": system,
        "age": [20, 60],
        "sex": sex,
        "chief_complaint": ["Complaint one.", "Complaint two."],
        "facts": facts,
    }


def write_templates(path: Path, names: list[str]) -> Path:
    path.write_text("".join(json.dumps(template_record(n)) + "\n" for n in names), encoding="utf-8")
    return path


def case_record(case_id: str = "c1", **changes: Any) -> dict[str, Any]:
    record = {
        "id": case_id,
        "diagnosis": "Pneumonia",
        "aliases": ["CAP"],
        "icd10": "J18.9",
        "body_system": "respiratory",
        "age": 64,
        "sex": "male",
        "chief_complaint": "I've had a cough and fever for three days.",
        "facts": [
            {"kind": "symptom", "text": "I cough up green phlegm.", "ask": ["phlegm", "sputum"]},
            {"kind": "exam", "text": "Crackles at the right base.", "ask": ["listen"]},
        ],
        "options": [],
        "source": "jsonl",
    }
    record.update(changes)
    return record


def pneumonia_case(case_id: str, *facts: Any) -> Any:
    """A 67-year-old woman with community-acquired pneumonia, holding the given facts."""
    from grpodx.cases.schema import Case

    return Case(
        id=case_id,
        diagnosis="Community-acquired pneumonia",
        aliases=("pneumonia", "CAP"),
        icd10="J18.9",
        body_system="respiratory",
        age=67,
        sex="female",
        chief_complaint="I've had a cough and a fever for three days.",
        facts=tuple(facts),
    )


@lru_cache(maxsize=1)
def judge_index() -> Any:
    """The built-in bank's diagnosis index over ICD-10-CM, built once per test session (seconds)."""
    from grpodx.env import DiagnosisIndex

    return DiagnosisIndex.for_cases([])
