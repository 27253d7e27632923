"""Rubric judge: the hierarchy's credit, the gate, rank, the index as an explicit argument."""

from __future__ import annotations

import asyncio

import lightning as L
import pytest

from grpodx.cases.schema import Case, Fact
from grpodx.clinical.text import diagnosis_key
from grpodx.env import DiagnosisIndex, JudgeConfig, build_judge
from grpodx.env.rubric import EXACT, LEVEL_CREDIT, Truth, judge_grade, rank
from grpodx.train.data import CaseDataModule
from tests.case_helpers import judge_index, write_templates

MI = Truth("Acute myocardial infarction", ("heart attack", "MI", "STEMI"), "I21.9", "cardiovascular")
NO_CODE = Truth("Kikuchi disease", (), "", "other")


def _case(diagnosis: str, icd10: str = "", aliases: tuple[str, ...] = ()) -> Case:
    return Case(f"x/{diagnosis}", diagnosis, aliases, icd10, "other", 30, "female", "I feel unwell.", (Fact("symptom", "It hurts."),))


@pytest.mark.parametrize(
    ("candidate", "credit"),
    [
        ("Acute myocardial infarction", EXACT),
        ("HEART ATTACK.", EXACT),  # case and punctuation
        ("NSTEMI", EXACT),  # I21.4 lies within the truth's I21 (its 'unspecified' code's parent)
        ("Subsequent non-ST elevation myocardial infarction", LEVEL_CREDIT["block"]),  # I22: same block I20-I25
        ("Old myocardial infarction", 0.0),  # a past diagnosis, whatever its code
        ("Chronic ischemic heart disease", LEVEL_CREDIT["block"]),  # I25
        ("Acute pericarditis", LEVEL_CREDIT["chapter"]),  # I30: circulatory chapter only
        ("pneumonia", 0.0),
        ("no STEMI", 0.0),
        ("gastric volvulus", 0.0),
        ("", 0.0),
    ],
)
def test_credit_follows_the_icd10_hierarchy(candidate: str, credit: float) -> None:
    assert judge_grade(MI, candidate, judge_index())[0] == credit


def test_empty_codes_never_match_each_other() -> None:
    """Two uncoded diagnoses share no category: a wrong answer earns 0, not 0.5."""
    index = judge_index()
    assert judge_grade(NO_CODE, "Rosai-Dorfman disease", index)[0] == 0.0
    assert judge_grade(NO_CODE, "Kikuchi disease", index)[0] == EXACT


def test_diagnosis_key_folds_spelling_possessives_and_abbreviations() -> None:
    assert diagnosis_key("Crohn's Disease") == diagnosis_key("crohn disease")
    assert diagnosis_key("Haemorrhagic stroke") == diagnosis_key("hemorrhagic stroke")
    assert diagnosis_key("Oesophagitis") == diagnosis_key("esophagitis")
    assert diagnosis_key("acute MI") == "acute myocardial infarction"


def test_rank_counts_the_final_diagnosis_then_the_differential_each_gated() -> None:
    index = judge_index()
    assert rank(MI, "STEMI", [], index) == 1
    assert rank(MI, "pericarditis", ["pneumonia", "heart attack"], index) == 3
    assert rank(MI, "pericarditis", ["pneumonia or MI"], index) is None  # a hedge in the differential counts nowhere
    assert rank(MI, "MI or PE", ["pneumonia"], index) is None


def test_the_judge_knows_the_cases_it_is_given_and_no_others() -> None:
    case, sibling = _case("Kikuchi disease", aliases=("histiocytic necrotizing lymphadenitis",)), _case("Adult-onset Still disease", "M06.1")
    judge = build_judge(JudgeConfig(), DiagnosisIndex.for_cases([case, sibling]))
    verdict = asyncio.run(judge.score(case, "histiocytic necrotizing lymphadenitis", []))
    assert verdict.credit == EXACT and verdict.correct and verdict.rank == 1
    bare = build_judge(JudgeConfig(), judge_index())  # another judge's cases never leak into this one
    assert asyncio.run(bare.score(case, "histiocytic necrotizing lymphadenitis", [])).credit == EXACT  # the truth's own alias
    assert judge_index().resolve("Adult-onset Still disease") is None or judge_index().resolve("Adult-onset Still disease").via != "name"


def test_build_judge_needs_an_index() -> None:
    with pytest.raises(TypeError, match="DiagnosisIndex"):
        build_judge(JudgeConfig(), [_case("Kikuchi disease")])  # type: ignore[arg-type]


def test_judge_cases_are_every_loaded_case_the_same_in_a_fresh_module(tmp_path) -> None:
    path = write_templates(tmp_path / "bank.jsonl", ["Alpha disease", "Beta disease", "Gamma disease", "Delta disease"])
    first, second = CaseDataModule(sources=[f"builtin:{path}"], variants_per_disease=2), CaseDataModule(sources=[f"builtin:{path}"], variants_per_disease=2)
    first.setup("fit"), second.setup("test")
    assert [c.id for c in first.judge_cases()] == [c.id for c in second.judge_cases()]
    external = _case("Epsilon disease")
    first.test_cases = [*first.test_cases, external]  # e.g. an external test source (issue 9)
    assert external in first.judge_cases() and len(first.judge_cases()) == len(second.judge_cases()) + 1


def test_the_module_refuses_to_build_a_judge_without_a_case_data_module() -> None:
    from grpodx.train.module import DoctorGRPO

    module = DoctorGRPO.__new__(DoctorGRPO)  # no policy needed: the check comes before anything is built
    L.LightningModule.__init__(module)  # a module attached to no trainer
    with pytest.raises(ValueError, match="CaseDataModule"):
        module._judge_cases()
