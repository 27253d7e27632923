"""What asking bought: the per-episode figures on hand-built episodes answered by the real
scripted patient, their aggregation and intervals, the turn-budget rollout on the tiny model."""

from dataclasses import replace

import pytest

from grpodx.cases.schema import Case, Fact
from grpodx.env.base import REDACTED
from grpodx.env.scripted import PatientSheet, answer, opening
from grpodx.run.inquiry import key_fact_recall, question_yield, repeated_questions, revealed_facts
from grpodx.run.knobs import ConfigError
from grpodx.run.metrics import DiagnosticMetrics
from grpodx.run.results import eval_records
from grpodx.tools.stats import asking_gain_test, intervals
from grpodx.train.rewards import RewardWeights, Rubric, reward_funcs
from grpodx.types import Episode, Verdict

RUBRIC = Rubric(reward_funcs(RewardWeights()))

FACTS = (
    Fact("symptom", "The pain is worse when I breathe in.", ("breath", "breathe"), key=True),
    Fact("symptom", "My left calf has been swollen for a week.", ("calf", "leg", "swell"), key=True),
    Fact("social", "I smoke ten cigarettes a day.", ("smok",)),
    Fact("history", "I had a pulmonary embolism before.", ("history", "before")),  # names the diagnosis
)
CASE = Case("pe", "Pulmonary embolism", ("PE",), "I26.9", "respiratory", 54, "female", "I have chest pain.", FACTS, cluster="chest pain")
PLAIN = replace(CASE, id="plain", facts=tuple(replace(f, key=False) for f in FACTS), cluster="")


def interview(case, questions, diagnosis="Pulmonary embolism", status="diagnosed", correct=True):
    """An episode whose patient turns are the scripted patient's real answers to `questions`."""
    sheet = PatientSheet.from_case(case)
    dialogue = [{"role": "patient", "content": opening(sheet, 0)}]
    for question in questions:
        dialogue += [{"role": "doctor", "content": question}, {"role": "patient", "content": answer(sheet, question, 0)}]
    e = Episode(case=case, group=0, seed=0, messages=[], dialogue=dialogue, status=status, turns_ok=[True] * (len(questions) + 1))
    if diagnosis is not None and status in ("diagnosed", "env_error"):
        dialogue.append({"role": "doctor", "content": f"DIAGNOSIS: {diagnosis}"})
        e.diagnosis = diagnosis
    if status == "diagnosed":
        e.verdict = Verdict(credit=float(correct), correct=correct, rank=1 if correct else None)
    if e.trainable:
        e.parts = RUBRIC.score(e)
    return e


def test_key_fact_recall_is_the_share_of_key_facts_the_patient_revealed():
    one = interview(CASE, ["Does it hurt when you breathe?", "Do you smoke?"])
    assert revealed_facts(CASE, one.dialogue) == (0, 2)
    assert key_fact_recall(CASE, one.dialogue) == 0.5  # the calf was never asked about
    both = interview(CASE, ["Does it hurt when you breathe?", "Any swelling in your legs?"])
    assert key_fact_recall(CASE, both.dialogue) == 1.0
    assert key_fact_recall(CASE, interview(CASE, []).dialogue) == 0.0  # asking nothing reveals nothing
    # the opening reveals nothing: a fact repeated in it does not count until asked
    opened = [{"role": "patient", "content": FACTS[0].text}]
    assert revealed_facts(CASE, opened) == ()


def test_a_fact_the_leak_guard_redacted_still_counts_as_revealed():
    reply = f"I had a {REDACTED} before."  # what the guarded patient says for fact 3
    dialogue = [{"role": "patient", "content": "Hello."}, {"role": "doctor", "content": "Any history?"}, {"role": "patient", "content": reply}]
    assert revealed_facts(CASE, dialogue) == (3,)


def test_cases_without_key_facts_leave_key_fact_recall_absent_not_zero():
    assert key_fact_recall(PLAIN, interview(PLAIN, ["Does it hurt when you breathe?"]).dialogue) is None
    metrics = DiagnosticMetrics()
    metrics.update_from([interview(PLAIN, ["Does it hurt when you breathe?"])])
    assert "key_fact_recall" not in metrics.results()
    metrics.update_from([interview(CASE, ["Does it hurt when you breathe?"])])
    assert metrics.results()["key_fact_recall"] == 0.5  # the plain case is not averaged in


def test_question_yield_counts_questions_answered_from_the_case():
    e = interview(CASE, ["Does it hurt when you breathe?", "Have you been abroad?", "When did it start?"])
    # breathing: a fact; abroad: the case is silent ("not sure"); onset: the chief complaint again
    assert [m["content"] for m in e.dialogue[4:5]] == [answer(PatientSheet.from_case(CASE), "Have you been abroad?", 0)]
    assert question_yield(e) == pytest.approx(2 / 3)
    assert question_yield(interview(CASE, [])) is None  # asked nothing: no yield to speak of
    # an examination the case has no finding for gets "no result": not an answer either
    assert question_yield(interview(CASE, ["Let me examine your chest."])) == 0.0


def test_a_question_left_unanswered_by_a_failure_counts_against_the_yield():
    e = interview(CASE, ["Does it hurt when you breathe?"], diagnosis=None, status="env_error")
    e.dialogue.append({"role": "doctor", "content": "Do you smoke?"})  # the patient call then failed
    assert question_yield(e) == 0.5
    out = interview(CASE, ["Does it hurt when you breathe?"], diagnosis=None, status="out_of_turns")
    out.dialogue.append({"role": "doctor", "content": "Do you smoke?"})  # the turns ran out: no reply was due
    assert question_yield(out) == 1.0


def test_repeated_questions_are_those_asking_for_the_same_content_words():
    e = interview(CASE, ["Any fever?", "Do you smoke?", "Do you have a fever?", "Fever?", "Okay."])
    assert repeated_questions(e) == 2  # the second and third fever questions; "Okay." asks nothing
    assert repeated_questions(interview(CASE, ["Any fever?"], diagnosis="fever")) == 0  # the diagnosing turn is no question


def test_asking_gain_pairs_each_episode_with_its_first_turn_run_and_failures_count_as_wrong():
    asked = [
        interview(CASE, ["Does it hurt when you breathe?"]),  # right after asking
        interview(CASE, ["Do you smoke?"], correct=False),
        interview(CASE, ["Do you smoke?"], diagnosis=None, status="truncated"),
        interview(CASE, [], status="env_error"),  # the judge failed
    ]
    at_once = [
        interview(CASE, [], correct=False),
        interview(CASE, [], correct=True),  # right at once, wrong after asking
        interview(CASE, [], correct=True),  # right at once; the full run was truncated
        interview(CASE, [], correct=False),
    ]
    metrics = DiagnosticMetrics(max_turns=3)
    metrics.update_from(asked, budgets={1: at_once, 3: asked})
    r = metrics.results()
    assert r["accuracy_open"] == pytest.approx(2 / 4)  # every episode counts, none dropped
    assert r["asking_gain"] == pytest.approx((1 - 1 - 1 + 0) / 4)  # solved 1 of 4 vs 2 of 4
    assert r["accuracy_by_turns/1"] == r["accuracy_open"] and r["accuracy_by_turns/3"] == pytest.approx(1 / 4)
    assert "accuracy_by_turns/2" not in r  # not evaluated
    assert r["accuracy"] == pytest.approx(1 / 3)  # the existing figure: the truncated episode counts as wrong, the failed one is left out
    records = eval_records(asked, 1, (3, 5), False, {1: at_once})
    assert asking_gain_test(records) == {"p": 1.0, "gained": 1, "lost": 2, "pairs": 4}
    assert [r["by_turns"]["1"]["correct"] for r in records] == [False, True, True, False]
    ci = intervals(records, seed=0)
    gain = ci["asking_gain"]
    assert gain["value"] == pytest.approx(-1 / 4) and gain["low"] <= gain["value"] <= gain["high"]
    assert ci["accuracy_by_turns/1"]["value"] == pytest.approx(1 / 2)


def test_budget_runs_must_pair_with_the_evaluated_episodes():
    e = interview(CASE, [])
    with pytest.raises(ValueError, match="turn budget 1: its 2 episodes do not pair"):
        DiagnosticMetrics().update_from([e], budgets={1: [e, e]})
    with pytest.raises(ValueError, match="turn budget 4 is outside 1..max_turns=3"):
        DiagnosticMetrics(max_turns=3).update_from([e], budgets={4: [e]})


def test_asking_gain_test_is_none_without_a_first_turn_run():
    assert asking_gain_test(eval_records([interview(CASE, [])], 1, (3, 5), False)) is None


def test_a_turn_budget_run_forces_the_diagnosis_at_its_last_turn(tiny_policy):
    from tests.test_rollout import cases, engine

    run = engine(tiny_policy, max_turns=3)
    episodes = run.run(cases(2), [1, 2], 2, 0.0, evaluation=True, turns=1)
    assert all(e.turns == 1 and e.status in ("diagnosed", "out_of_turns") for e in episodes)
    assert all(e.messages[-1]["content"].startswith("DIAGNOSIS:") for e in episodes)  # the prefilled prefix
    assert all("1 turn" in e.messages[0]["content"] for e in episodes)  # the doctor is told its budget
    assert run.config.max_turns == 3 and not run.config.force_final_diagnosis  # the engine's own config is back
    with pytest.raises(ConfigError, match=r"RolloutEngine.run.turns must be in 1..rollout.max_turns=3, got 4"):
        run.run(cases(1), [1], 2, 0.0, turns=4)
    run.close()


def test_on_the_inquiry_cases_asking_the_cluster_questions_reveals_the_key_facts():
    """Through the real embedded patient (the LiteLLM path, leak guard included): a doctor that
    asks its cluster's discriminating questions hears nearly every key fact; one that asks
    nothing hears none; one question hears fewer than all of them."""
    import asyncio

    from benchmarks.inquiry import find_cluster
    from grpodx.cases.clusters import builtin_clusters
    from grpodx.cases.sources import load_source
    from grpodx.env import PatientConfig, build_patient

    clusters, patient = builtin_clusters(), build_patient(PatientConfig())
    cases, _ = load_source("inquiry", seed=0, variants_per_disease=1)
    cases = list({case.cluster: case for case in cases}.values())  # one a cluster: seconds, not a minute

    async def recall(case, how_many):
        dialogue = [{"role": "patient", "content": await patient.opening(case, 0)}]
        for question in find_cluster(dialogue[0]["content"], clusters).questions[:how_many]:
            dialogue.append({"role": "doctor", "content": question})
            dialogue.append({"role": "patient", "content": await patient.reply(case, dialogue, 0)})
        return key_fact_recall(case, dialogue)

    def mean(how_many):
        values = [asyncio.run(recall(case, how_many)) for case in cases]
        assert None not in values  # every inquiry case marks key facts
        return sum(values) / len(values)

    assert mean(0) == 0.0
    assert mean(1) < mean(99)
    assert mean(99) >= 0.95
