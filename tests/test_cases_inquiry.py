"""The `inquiry` source: presentation clusters whose openings name a complaint, never a diagnosis."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from grpodx.cases.clusters import builtin_clusters, load_clusters
from grpodx.cases.errors import CaseError
from grpodx.cases.sources import load_source


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
