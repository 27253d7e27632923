"""Rubric judge: credit tiers, name normalisation, rank, and the known-diagnosis index."""

from __future__ import annotations

import asyncio

import pytest

from grpodx.cases.schema import Case, Fact
from grpodx.env import JudgeConfig, build_judge
from grpodx.env.rubric import CATEGORY, EXACT, SYSTEM, DiagnosisIndex, Truth, grade, name_key, rank

MI = Truth("Acute myocardial infarction", ("heart attack", "MI", "STEMI"), "I21.9", "cardiovascular")


@pytest.fixture
def index() -> DiagnosisIndex:
    index = DiagnosisIndex()
    index.add(["Acute myocardial infarction", "heart attack"], "I21.9", "cardiovascular", "Acute myocardial infarction")
    index.add(["Subsequent myocardial infarction"], "I21.4", "cardiovascular", "NSTEMI-like")  # same I21 category
    index.add(["Acute pericarditis"], "I30.9", "cardiovascular", "Acute pericarditis")
    index.add(["Heat stroke"], "T67.0", "other", "Heat stroke")
    index.add(["Community-acquired pneumonia", "pneumonia"], "J18.9", "respiratory", "Community-acquired pneumonia")
    return index


@pytest.mark.parametrize(
    ("candidate", "credit"),
    [
        ("Acute myocardial infarction", EXACT),
        ("myocardial infarction", EXACT),  # leading 'acute' dropped
        ("HEART ATTACK.", EXACT),  # case and punctuation
        ("the heart attack", EXACT),  # leading article
        ("inferior STEMI", EXACT),  # a qualifier added to an alias
        ("Subsequent myocardial infarction", CATEGORY),  # same ICD-10 category, I21
        ("pericarditis", SYSTEM),  # known cardiovascular disease, different category
        ("pneumonia", 0.0),
        ("no STEMI", 0.0),  # negation is not a match
        ("gastric volvulus", 0.0),  # unknown name
        ("", 0.0),
    ],
)
def test_credit_tiers(index: DiagnosisIndex, candidate: str, credit: float) -> None:
    assert grade(MI, candidate, index)[0] == credit


def test_a_known_other_disease_never_matches_by_qualifier(index: DiagnosisIndex) -> None:
    stroke = Truth("Ischaemic stroke", ("stroke", "CVA"), "I63.9", "neurological")
    assert grade(stroke, "left MCA stroke", index)[0] == EXACT
    assert grade(stroke, "heat stroke", index)[0] == 0.0


def test_name_key_folds_spelling_and_possessives() -> None:
    assert name_key("Crohn's Disease") == name_key("crohn disease")
    assert name_key("Haemorrhagic stroke") == name_key("hemorrhagic stroke")
    assert name_key("Oesophagitis") == name_key("esophagitis")


def test_rank_counts_the_final_diagnosis_then_the_differential(index: DiagnosisIndex) -> None:
    assert rank(MI, "STEMI", [], index) == 1
    assert rank(MI, "pericarditis", ["pneumonia", "heart attack"], index) == 3
    assert rank(MI, "pericarditis", ["pneumonia"], index) is None


def test_known_cases_extend_the_judge_index() -> None:
    case = Case("x", "Kikuchi disease", ("histiocytic necrotizing lymphadenitis",), "M35.8", "musculoskeletal", 25, "female", "Lumps in my neck.", (Fact("symptom", "They hurt."),))
    sibling = Case("y", "Adult-onset Still disease", (), "M06.1", "musculoskeletal", 30, "male", "Fevers.", (Fact("symptom", "Rash."),))
    judge = build_judge(JudgeConfig(), known_cases=[case, sibling])
    verdict = asyncio.run(judge.score(case, "Adult-onset Still disease", ["histiocytic necrotizing lymphadenitis"]))
    assert verdict.credit == SYSTEM and not verdict.correct and verdict.rank == 2
    assert "musculoskeletal" in verdict.rationale
