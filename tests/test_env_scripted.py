"""The scripted patient's rules, one behaviour per test."""

from __future__ import annotations

import json

import pytest

from grpodx.cases.schema import Fact
from grpodx.env.scripted import GREETINGS, MAX_FACTS, NO_RESULT, NOT_SURE, PatientSheet, answer, matching_facts, opening

from case_helpers import pneumonia_case

CASE = pneumonia_case(
    "t1",
    Fact("symptom", "I'm bringing up green phlegm.", ("phlegm", "sputum")),
    Fact("negative", "No, I haven't coughed up blood.", ("blood",)),
    Fact("social", "I smoke ten a day.", ("smok",)),
    Fact("social", "I drink a glass of wine at dinner.", ("alcohol", "drink")),
    Fact("medication", "I take a blood pressure tablet.", ("medication", "tablet")),
    Fact("history", "I had my appendix out as a child.", ("operation", "surgery")),
    Fact("exam", "Crackles at the right base.", ("examin", "listen", "chest")),
    Fact("test", "Chest X-ray: right lower lobe consolidation.", ("x ray", "xray")),
)
SHEET = PatientSheet.from_case(CASE)


def test_opening_gives_demographics_and_chief_complaint() -> None:
    text = opening(SHEET, seed=0)
    assert text.split(" I'm")[0] in GREETINGS
    assert "67-year-old woman" in text and CASE.chief_complaint in text


def test_cue_matches_at_word_start_only() -> None:
    assert answer(SHEET, "Do you smoke?", 0) == "I smoke ten a day."
    assert answer(SHEET, "Are you a nonsmoker?", 0) in NOT_SURE  # 'smok' inside a word is no cue


def test_negated_finding_gets_the_negative_fact() -> None:
    assert answer(SHEET, "Any blood when you cough?", 0) == "No, I haven't coughed up blood."


def test_what_the_case_does_not_say_gets_not_sure() -> None:
    assert answer(SHEET, "Have you had any night sweats?", 0) in NOT_SURE


def test_several_questions_in_one_get_each_fact() -> None:
    assert answer(SHEET, "Do you smoke or drink alcohol?", 0) == "I smoke ten a day. I drink a glass of wine at dinner."


def test_answers_are_capped() -> None:
    question = "Phlegm? Blood? Smoking? Alcohol? Medication? Any operation?"
    assert len(matching_facts(SHEET, question)) == MAX_FACTS


def test_exam_and_test_need_the_doctor_to_examine_or_order() -> None:
    assert answer(SHEET, "Does your chest hurt?", 0) in NOT_SURE
    assert answer(SHEET, "Let me listen to your chest.", 0) == "Crackles at the right base."
    assert answer(SHEET, "I'll order an x-ray.", 0) == "Chest X-ray: right lower lobe consolidation."
    assert answer(SHEET, "I'd like an MRI of your knee.", 0) in NO_RESULT


def test_seed_picks_phrasing_not_facts() -> None:
    not_sure = {answer(SHEET, "Any rashes?", seed) for seed in range(20)}
    assert not_sure <= set(NOT_SURE) and len(not_sure) > 1
    assert {answer(SHEET, "Do you smoke?", seed) for seed in range(20)} == {"I smoke ten a day."}
    assert answer(SHEET, "Any rashes?", 7) == answer(SHEET, "Any rashes?", 7)


def test_cueless_facts_are_found_by_word_overlap() -> None:
    imported = PatientSheet("", "My ankle hurts.", (Fact("symptom", "It swelled up right after I twisted it."), Fact("negative", "I can walk on it.")))
    assert answer(imported, "Did you twist it?", 0) == "It swelled up right after I twisted it."
    assert answer(imported, "Can you walk?", 0) == "I can walk on it."


def test_onset_questions_fall_back_to_the_chief_complaint() -> None:
    assert answer(SHEET, "When did this start?", 0) == CASE.chief_complaint


def test_sheet_round_trips_without_the_diagnosis() -> None:
    text = SHEET.to_json()
    assert PatientSheet.from_json(text) == SHEET
    assert "pneumonia" not in text.lower() and "J18" not in text and "CAP" not in text


def test_malformed_sheet_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"facts\[0\]"):
        PatientSheet.from_json(json.dumps({"chief_complaint": "x", "facts": [{"kind": "gossip", "text": "y"}]}))
