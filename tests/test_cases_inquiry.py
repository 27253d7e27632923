"""The `inquiry` source: presentation clusters whose openings name a complaint, never a diagnosis."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from grpodx.cases.checks import name_leaks
from grpodx.cases.cli import main as cases_main
from grpodx.cases.clusters import OTHER_SEX_ONLY, builtin_clusters, load_clusters
from grpodx.cases.errors import CaseError
from grpodx.cases.honesty import NaiveBayes, cluster_honesty
from grpodx.cases.schema import Case
from grpodx.cases.sources import load_source
from grpodx.env.scripted import MAX_FACTS, NOT_SURE, PatientSheet, answer, matching_facts, opening


def test_every_case_of_a_cluster_opens_with_the_same_seeded_wording() -> None:
    cases, report = load_source("inquiry", seed=0, variants_per_disease=4)
    assert report.cases == len(cases) and report.rejected == []
    openings: dict[tuple[str, str], set[str]] = defaultdict(set)
    for case in cases:
        openings[(case.cluster, case.id.rsplit("/", 1)[1])].add(case.chief_complaint)
    assert all(len(wordings) == 1 for wordings in openings.values()), "seed k must open every diagnosis of a cluster alike"
    assert {c.cluster for c in cases} == {c.name for c in builtin_clusters()}


def test_case_ids_are_stable_and_every_case_has_key_facts() -> None:
    first, _ = load_source("inquiry", seed=3, variants_per_disease=2)
    again, _ = load_source("inquiry", seed=3, variants_per_disease=2)
    assert first == again
    assert first[0].id == "inquiry/acute-appendicitis/3" and first[0].source == "inquiry"
    assert all(any(f.key for f in case.facts) for case in first)


def _write_cluster(folder, diagnoses: list[dict]) -> None:
    header = {"cluster": "test pain", "age": [30, 60], "complaint": ["It hurts."], "questions": ["Where?"]}
    (folder / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [header, *diagnoses]))


def test_a_cluster_needs_four_diagnoses_with_key_facts(tmp_path) -> None:
    key = [{"kind": "symptom", "text": ["Here."], "ask": ["where"]}]
    _write_cluster(tmp_path, [{"bank": name, "key": key} for name in ("Acute appendicitis", "Gout", "Migraine with aura")])
    with pytest.raises(CaseError, match="at least 4 diagnoses"):
        load_clusters(tmp_path)
    _write_cluster(tmp_path, [{"bank": "No such disease", "key": key}])
    with pytest.raises(CaseError) as error:
        load_clusters(tmp_path)
    assert (error.value.where, error.value.field) == (f"{tmp_path / 'test.jsonl'}:2", "bank")


def test_the_source_loads_from_a_folder_too(tmp_path) -> None:
    key = [{"kind": "symptom", "text": ["Here."], "ask": ["where"]}]
    _write_cluster(tmp_path, [{"bank": name, "key": key} for name in ("Acute appendicitis", "Gout", "Migraine with aura", "Psoriasis")])
    cases, report = load_source(f"inquiry:{tmp_path}", variants_per_disease=2)
    assert len(cases) == 8 and report.source == f"inquiry:{tmp_path}"
    assert {c.age for c in cases} <= set(range(30, 61)) and {c.chief_complaint for c in cases} == {"It hurts."}


# --- honesty: the opening gives nothing away, asking can, and the patient keeps to the rules -----
@pytest.fixture(scope="module")
def inquiry_cases() -> list[Case]:
    return load_source("inquiry", seed=0, variants_per_disease=10)[0]


def test_the_source_is_big_enough_and_honest_in_every_cluster(inquiry_cases: list[Case]) -> None:
    rows = cluster_honesty(inquiry_cases)
    assert len(rows) >= 12 and sum(r.diagnoses for r in rows) >= 60 and min(r.diagnoses for r in rows) >= 4
    for row in rows:
        assert abs(row.opening - row.majority) <= 0.10 + 1e-9, f"{row.cluster}: the opening gives the diagnosis away ({row})"
        assert row.all_facts >= 0.90, f"{row.cluster}: even every fact does not tell the diagnoses apart ({row})"


def test_naive_bayes_learns_words_and_ties_to_the_first_label() -> None:
    model = NaiveBayes([(["cough", "phlegm"], "pneumonia"), (["wheeze"], "asthma"), (["wheeze", "tight"], "asthma")])
    # log P(pneumonia | wheeze) = log 1/3 + log (0+1)/(2+4) < log P(asthma | wheeze) = log 2/3 + log (2+1)/(3+4)
    assert model.predict(["wheeze"]) == "asthma" and model.predict(["phlegm"]) == "pneumonia"
    even = NaiveBayes([(["same"], "b"), (["same"], "a")])
    assert even.predict(["same"]) == "a" and even.predict(["unseen"]) == "a"


def _cue_string(case: Case) -> str:
    cues = dict.fromkeys(cue for fact in case.facts for cue in fact.ask)
    return "Have you had any " + ", ".join(cues) + " or anything at all?"


def test_a_question_stringing_every_cue_gets_at_most_max_facts(inquiry_cases: list[Case]) -> None:
    for case in inquiry_cases[::7]:
        sheet = PatientSheet.from_case(case)
        for question in (_cue_string(case), "Let me examine you and run tests: " + _cue_string(case)):
            assert 1 <= len(matching_facts(sheet, question)) <= MAX_FACTS, case.id


def test_the_patient_volunteers_nothing_unasked(inquiry_cases: list[Case]) -> None:
    for case in inquiry_cases[::5]:
        sheet = PatientSheet.from_case(case)
        said = [opening(sheet, 0), *(answer(sheet, turn, 0) for turn in ("Okay.", "Thank you.", "I see.", "Hello there."))]
        for fact in case.facts:
            assert not any(fact.text in text for text in said), f"{case.id}: {fact.text!r} came unasked"
        assert said[1:] == [answer(sheet, t, 0) for t in ("Okay.", "Thank you.", "I see.", "Hello there.")]
        assert all(text in NOT_SURE for text in said[1:]), said


def test_no_fact_names_the_diagnosis(inquiry_cases: list[Case]) -> None:
    leaks = [f"{case.id}: {leak}" for case in inquiry_cases for leak in name_leaks(case)]
    assert not leaks, leaks[:5]


def test_cases_stats_prints_both_classifier_figures_per_cluster(capsys: pytest.CaptureFixture[str]) -> None:
    assert cases_main(["stats", "inquiry", "--variants", "3"]) == 0
    out = capsys.readouterr().out
    assert "clusters: 13, diagnoses in clusters: 65" in out
    row = next(line for line in out.splitlines() if line.endswith("  acute chest pain"))
    assert row.split()[:5] == ["5", "15", "20%", "20%", "100%"]  # diagnoses, cases, majority, opening, all facts


def test_the_data_module_trains_on_inquiry_cases() -> None:
    from grpodx.train.data import CaseDataModule

    data = CaseDataModule(sources=["inquiry"], variants_per_disease=2)
    data.setup("fit")
    batch = next(iter(data.train_dataloader()))
    assert batch and all(case.source == "inquiry" and case.cluster and any(f.key for f in case.facts) for case in batch)


def test_no_key_fact_cue_is_a_lone_stopword() -> None:
    """A one-word cue that is a stopword ('before', 'anyone') never selects a fact on its own:
    the patient would not answer the question it was written for. Phrases ('this before') do."""
    from grpodx.clinical.text import STOPWORDS, canonical
    from grpodx.env.scripted import ASKING_WORDS

    dead = [
        (template.diagnosis, cue)
        for cluster in builtin_clusters()
        for template in cluster.templates
        for fact in template.facts
        if fact.key
        for cue in fact.ask
        if " " not in canonical(cue) and canonical(cue) in STOPWORDS - ASKING_WORDS
    ]
    assert not dead, dead


def test_a_case_says_nothing_its_sex_cannot_have(inquiry_cases: list[Case]) -> None:
    men = [c for c in inquiry_cases if c.sex == "male" and c.diagnosis in ("Iron deficiency anaemia", "Acute cystitis", "Acute pyelonephritis")]
    assert men, "the seeded draw gives these diagnoses men too"
    said = [f.text for case in men for f in case.facts]
    assert not [t for t in said if OTHER_SEX_ONLY["male"].search(t)], "a man's case mentions periods or pregnancy"
    women = [c for c in inquiry_cases if c.sex == "female" and c.diagnosis == "Iron deficiency anaemia"]
    assert any("period" in f.text for case in women for f in case.facts)  # kept where it can be true
    urine = [f.text for case in men if case.diagnosis == "Acute cystitis" for f in case.facts if f.text.startswith("Urinalysis")]
    assert urine and all(t == "Urinalysis: leucocytes 2+, nitrites positive, blood negative." for t in urine)  # the finding stays
