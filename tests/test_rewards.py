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
