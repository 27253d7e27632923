"""Small bank-format templates for tests that must not depend on the shipped bank's content."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures"
"""Small files the project wrote itself in the public formats (DDXPlus, MediQ, AgentClinic).
The public data sets themselves are read only by tests marked `shared_data`, through the
`shared_data` fixture (conftest.py), and are never copied."""


def on_fixture_and_shared(fixture: Path, shared: str) -> list[Any]:
    """Parameters for a test over the project's fixture and, in the `shared_data` group, the real
    file `shared` (relative to the public data folder); resolve them with `data_path`."""
    import pytest

    return [pytest.param(fixture, id="fixture"), pytest.param(shared, id="shared", marks=pytest.mark.shared_data)]


def data_path(request: Any) -> Path:
    """The path a parameter of `on_fixture_and_shared` names."""
    param = request.param
    return param if isinstance(param, Path) else request.getfixturevalue("shared_data") / param


KINDS = ["symptom", "symptom", "negative", "history", "medication", "social", "family", "exam", "test", "test"]


def template_record(name: str, system: str = "respiratory", sex: str = "any") -> dict[str, Any]:
    facts = [
        {"kind": kind, "core": i < 2, "text": [f"Finding {i}, wording A.", f"Finding {i}, wording B."], "ask": [f"cue{i}"]} for i, kind in enumerate(KINDS)
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
