"""The rubric: each part from the episode's own attributes, the weighted total, clear errors."""

import pytest

from grpodx.cases.schema import Case
from grpodx.train.rewards import RewardFunc, RewardWeights, Rubric, reward_funcs, strict_format
from grpodx.types import Episode, Verdict

CASE = Case("c", "Gout", (), "M10.9", "musculoskeletal", 50, "male", "My toe hurts.", ())


def episode(turns_ok, status="diagnosed", verdict=None):
    return Episode(case=CASE, group=0, seed=0, messages=[], status=status, turns_ok=turns_ok, verdict=verdict)


def test_parts_and_total_of_a_diagnosed_episode():
    verdict = Verdict(credit=0.5, correct=False, process=1.0, process_weight=0.2)
    r = Rubric(reward_funcs(RewardWeights(w_dx=1.0, w_format=0.2, w_turn=0.02)))
    parts = r.score(episode([True, True, True], verdict=verdict))
    # judged = 0.8 * 0.5 + 0.2 * 1.0 = 0.6; three turns, the last the diagnosis: two questions
    assert parts.judged == pytest.approx(0.6)
    assert (parts.format, parts.questions, parts.credit, parts.process) == (1.0, 2.0, 0.5, 1.0)
    # 1.0 * 0.6 + 0.2 * 1.0 - 0.02 * 2 = 0.76
    assert r.total(parts) == pytest.approx(0.76)


def test_an_episode_that_ran_out_of_turns_pays_for_every_question_and_earns_no_credit():
    r = Rubric(reward_funcs(RewardWeights()))
    parts = r.score(episode([True, False, True, True, True], status="out_of_turns"))
    assert (parts.judged, parts.format, parts.questions) == (0.0, 0.0, 5.0)
    assert r.total(parts) == pytest.approx(-0.1)


def test_the_rubric_must_fill_exactly_the_parts():
    funcs = reward_funcs(RewardWeights())
    with pytest.raises(ValueError, match="RewardParts fields"):
        Rubric(funcs[:-1])
    with pytest.raises(ValueError, match="RewardParts fields"):
        Rubric([*funcs, RewardFunc("format_turns", strict_format, 0.1)])


def test_a_function_reading_what_an_episode_lacks_is_named():
    def hedged(hedge_count: int) -> float:
        return float(hedge_count)

    funcs = [f if f.name != "process" else RewardFunc("process", hedged, 0.0) for f in reward_funcs(RewardWeights())]
    with pytest.raises(TypeError, match=r"'process' reads \['hedge_count'\]"):
        Rubric(funcs).score(episode([True]))


def _asked(case, questions):
    """The real embedded patient's answers to `questions`, as a dialogue."""
    import asyncio

    from grpodx.env import PatientConfig, build_patient

    patient = build_patient(PatientConfig())

    async def play():
        dialogue = [{"role": "patient", "content": await patient.opening(case, 0)}]
        for q in questions:
            dialogue.append({"role": "doctor", "content": q})
            dialogue.append({"role": "patient", "content": await patient.reply(case, dialogue, 0)})
        return dialogue

    return asyncio.run(play())


def test_the_information_reward_pays_focused_questions_not_a_shotgun_or_repeats():
    from grpodx.cases.sources import load_sources
    from grpodx.run.inquiry import revealed_facts
    from grpodx.train.rewards import key_facts_found

    cases = {c.diagnosis: c for c in load_sources(["inquiry"], seed=0, variants_per_disease=1)[0]}
    appendicitis = cases["Acute appendicitis"]
    focused = _asked(appendicitis, ["Where exactly is the pain, and has it moved or spread anywhere?", "Have you been sick, and are your bowels normal?"])
    assert key_facts_found(appendicitis, focused) == 1.0
    assert key_facts_found(appendicitis, focused[:3]) == 0.5  # one of two key facts
    again = _asked(appendicitis, ["Where exactly is the pain, and has it moved or spread anywhere?"] * 2)
    assert key_facts_found(appendicitis, again) == 0.5  # asking again reveals nothing new
    shotgun = _asked(appendicitis, ["Where is it, does it move or spread, any vomiting, bowels, wind, appetite, food, alcohol, fever, blood, cough?"])
    assert key_facts_found(appendicitis, shotgun) == 0.5  # a cue list earns what one question earns
    assert revealed_facts(appendicitis, shotgun) and set(revealed_facts(appendicitis, shotgun)) >= {i for i, f in enumerate(appendicitis.facts) if f.key}
    assert key_facts_found(appendicitis, focused[:1]) == 0.0  # the opening alone finds nothing
    bank = load_sources(["builtin"], seed=0, variants_per_disease=1)[0][0]
    assert key_facts_found(bank, _asked(bank, ["Any fever?"])) == 0.0  # no key facts: no information reward


def test_the_information_reward_enters_the_total_only_with_its_weight():
    from grpodx.cases.sources import load_sources

    case = next(c for c in load_sources(["inquiry"], seed=0, variants_per_disease=1)[0] if c.diagnosis == "Acute appendicitis")
    dialogue = _asked(case, ["Where exactly is the pain, and has it moved or spread anywhere?"])
    episode = Episode(case=case, group=0, seed=0, messages=[], dialogue=dialogue, status="diagnosed", turns_ok=[True, True])
    paid, unpaid = (Rubric(reward_funcs(RewardWeights(w_key_fact=w, w_turn=0.0))) for w in (0.5, 0.0))
    assert paid.score(episode).key_facts == unpaid.score(episode).key_facts == 0.5
    assert paid.total(paid.score(episode)) - unpaid.total(unpaid.score(episode)) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="w_key_fact"):
        RewardWeights(w_key_fact=-1)
