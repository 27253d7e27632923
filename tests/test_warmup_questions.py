"""The warm-up's `cluster_pool` questions: drawn from the presentation cluster's pool, blind to
the case's diagnosis and key facts (issue #23), answered by the real scripted patient."""

import asyncio
import dataclasses
import random
from pathlib import Path

import pytest

from grpodx.cases.bank import builtin_templates
from grpodx.cases.variation import instantiate
from grpodx.env import PatientConfig, build_patient
from grpodx.train.warmup import ProtocolTurns, WarmUp, cluster_question_pools, fact_question, scripted_questions


def clustered(names: dict[str, str], seeds=range(3)):
    """Bank cases of the named diagnoses, put in the given clusters."""
    by_name = {t.diagnosis: t for t in builtin_templates()}
    return [dataclasses.replace(instantiate(by_name[d], seed=s), cluster=c) for d, c in names.items() for s in seeds]


CLUSTERS = {
    "Acute myocardial infarction": "chest pain",
    "Pulmonary embolism": "chest pain",
    "Migraine with aura": "headache",
    "Tension-type headache": "headache",
}


def own_questions(case):
    return {q for f in case.facts if (q := fact_question(f))}


def test_the_pool_is_the_clusters_questions_and_nothing_else():
    cases = clustered(CLUSTERS)
    pools = cluster_question_pools(cases)
    assert set(pools) == {"chest pain", "headache"}
    for cluster, pool in pools.items():
        members = [c for c in cases if c.cluster == cluster]
        assert set(pool) == set().union(*(own_questions(c) for c in members))
        others = set().union(*(own_questions(c) for c in cases if c.cluster != cluster))
        assert others - set(pool)  # the other cluster's own questions are not in this pool


def test_pool_questions_do_not_depend_on_the_diagnosis():
    cases = clustered(CLUSTERS, seeds=[0])
    pool = cluster_question_pools(cases)["chest pain"]
    mi, pe = (c for c in cases if c.cluster == "chest pain")
    for seed in range(20):
        asked = scripted_questions(mi, random.Random(seed), 3, pool)
        assert asked == scripted_questions(pe, random.Random(seed), 3, pool)  # same draw for either diagnosis
        assert len(set(asked)) == 3 and set(asked) <= set(pool)
    # the case_facts scripted doctor asks only what its own case answers: it gives the diagnosis away
    assert all(set(scripted_questions(mi, random.Random(s), 3, None)) <= own_questions(mi) for s in range(20))


def test_warmup_conversations_draw_from_the_cluster_and_the_patient_answers_them():
    cases = clustered(CLUSTERS)
    pools = cluster_question_pools(cases)
    patient = build_patient(PatientConfig())
    warm = WarmUp(steps=1, conversations_per_case=4, min_questions=2, max_questions=2, questions="cluster_pool")

    conversations = asyncio.run(warm._conversations(cases, patient, ProtocolTurns(3, 2, 2)))
    asked_foreign = 0
    for i, messages in enumerate(conversations):
        case = cases[i // 4]
        questions = [m["content"].split("</reason>")[-1] for m in messages[2:-1] if m["role"] == "assistant"]
        assert len(questions) == 2 and set(questions) <= set(pools[case.cluster])
        asked_foreign += sum(q not in own_questions(case) for q in questions)
        assert messages[-1]["content"].split("DIAGNOSIS: ")[1].startswith(case.diagnosis)
    assert asked_foreign > 0  # questions about the other diagnoses' findings are asked too


def test_cluster_pool_needs_clusters_and_a_known_source():
    with pytest.raises(ValueError, match="Case.cluster"):
        cluster_question_pools([instantiate(builtin_templates()[0], seed=0)])
    with pytest.raises(ValueError, match="case_facts or cluster_pool"):
        WarmUp(questions="by_key_facts")  # type: ignore[arg-type]


def test_on_the_recipes_inquiry_cases_the_pool_can_find_nearly_every_key_fact():
    """The warm-up shows questions that can find each diagnosis's key facts (so GRPO can learn
    to choose them), among many that find nothing for a given case."""
    import yaml

    from grpodx.cases.sources import load_sources
    from grpodx.env.scripted import PatientSheet, matching_facts

    diagnoses = yaml.safe_load((Path(__file__).resolve().parents[1] / "configs" / "cpu.yaml").read_text())["data"]["diagnoses"]
    cases = [c for c in load_sources(["inquiry"], seed=0, variants_per_disease=2)[0] if c.diagnosis in diagnoses]
    pools = cluster_question_pools(cases)
    keys = [(c, f) for c in cases for f in c.facts if f.key]
    found = [any(f in matching_facts(PatientSheet.from_case(c), q) for q in pools[c.cluster]) for c, f in keys]
    assert len(pools) == 6 and sum(found) / len(found) >= 0.95
    assert all(len(pool) >= 20 for pool in pools.values())  # a drawn question is rarely the right one


def test_cluster_questions_are_the_clusters_discriminating_and_routine_questions_for_every_diagnosis():
    from grpodx.cases.clusters import builtin_clusters
    from grpodx.cases.sources import load_sources
    from grpodx.train.warmup import cluster_discriminating_pools

    cases = load_sources(["inquiry"], seed=0, variants_per_disease=1)[0]
    pools = cluster_discriminating_pools(["inquiry"], cases)
    clusters = {c.name: c for c in builtin_clusters()}
    routine = {"Do you have any other medical conditions?", "What medication do you take?", "Does anything run in your family?"}
    assert set(pools) == set(clusters)
    for name, pool in pools.items():
        assert set(pool) == set(clusters[name].questions) | routine  # the cluster's, never a case's own
    patient = build_patient(PatientConfig())
    warm = WarmUp(steps=1, conversations_per_case=3, min_questions=2, max_questions=2, questions="cluster_questions")
    chest = [c for c in cases if c.cluster == "acute chest pain"]
    conversations = asyncio.run(warm._conversations(chest, patient, ProtocolTurns(3, 2, 2), ["inquiry"]))
    asked = [[m["content"].split("</reason>")[-1] for m in msgs[2:-1] if m["role"] == "assistant"] for msgs in conversations]
    assert all(len(q) == 2 and set(q) <= set(pools["acute chest pain"]) for q in asked)
    # a bank source has no clusters, and a cluster missing from data.sources is named
    with pytest.raises(ValueError, match="Case.cluster"):
        cluster_discriminating_pools(["builtin"], [instantiate(builtin_templates()[0], seed=0)])
    with pytest.raises(ValueError, match="acute chest pain.*no `inquiry` source"):
        cluster_discriminating_pools(["builtin"], chest)
