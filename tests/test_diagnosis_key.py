"""One diagnosis key (`clinical.coding.concept_key`, the judge's coding) wherever diagnoses are
compared: splits, data filters, generated cards and the bank."""

from __future__ import annotations

import dataclasses
import json

import pytest

from grpodx.cases.bank import _check_distinct, builtin_templates
from grpodx.cases.errors import CaseError
from grpodx.cases.generate import check_card, diagnosis_keys
from grpodx.cases.splits import split_cases
from grpodx.cases.variation import instantiate
from grpodx.clinical.coding import DiagnosisIndex
from grpodx.train.data import keep_diagnoses

MI = "Acute myocardial infarction"


@pytest.fixture(scope="module")
def cases():
    """Ten bank diseases, plus a case of "Heart attack" from another source (no aliases of its own)."""
    templates = [t for t in builtin_templates() if t.diagnosis == MI] + [t for t in builtin_templates() if t.diagnosis != MI][:9]
    bank = [instantiate(t, 0) for t in templates]
    heart_attack = dataclasses.replace(bank[0], id="other/heart-attack/0", diagnosis="Heart attack", aliases=(), source="other")
    return [*bank, heart_attack]


@pytest.fixture(scope="module")
def index(cases):
    return DiagnosisIndex.for_cases(cases)


def test_a_split_by_diagnosis_never_parts_heart_attack_and_myocardial_infarction(cases, index):
    # 10 diseases, 2 held out per seed: with the two names as two units, some seed of these
    # would hold out one and train on the other
    for seed in range(12):
        train, val, test = split_cases(cases, "diagnosis", 0.2, 0.2, seed, index)
        sides = {c.diagnosis: side for side, part in (("train", train), ("val", val), ("test", test)) for c in part}
        assert sides["Heart attack"] == sides[MI], seed
        assert len({c.diagnosis for c in [*val, *test]} - {"Heart attack"}) == 4, seed  # 2 + 2 diseases held out


def test_the_diagnosis_filter_keeps_every_name_of_the_disease(cases, index):
    kept = keep_diagnoses(cases, ["MI"], index)
    assert sorted(c.diagnosis for c in kept) == sorted([MI, "Heart attack"])
    with pytest.raises(ValueError, match=r"data.diagnoses: \['Kawasaki disease'\] not among the 10 diagnoses"):
        keep_diagnoses(cases, ["MI", "Kawasaki disease"], index)


def test_a_generated_card_naming_a_generated_disease_again_is_refused(cases):
    card = {
        "diagnosis": "Heart attack",
        "icd10": "I21.9",
        "body_system": "cardiovascular",
        "age": 60,
        "sex": "male",
        "chief_complaint": "My chest feels crushed.",
        "facts": [{"kind": "symptom", "text": "The pain goes to my left arm.", "ask": ["arm"]}],
    }
    with pytest.raises(ValueError, match="'Heart attack' was already generated"):
        check_card(json.dumps(card), "card 2", diagnosis_keys(["Myocardial infarction"]))
    assert check_card(json.dumps(card), "card 2", diagnosis_keys(["Gout"])).diagnosis == "Heart attack"


def test_the_bank_refuses_two_templates_of_one_name():
    mi = next(t for t in builtin_templates() if t.diagnosis == MI)
    other = dataclasses.replace(builtin_templates()[0], diagnosis="Gout flare", aliases=("myocardial infarction",))
    with pytest.raises(CaseError, match="duplicate diagnosis 'myocardial infarction': also a name of 'Acute myocardial infarction'"):
        _check_distinct([mi, other])
