"""Diagnostic metrics from episodes: accuracy@k from the judge's rank, exclusions, MC accuracy."""

import pytest

from grpodx.cases.schema import Case
from grpodx.run.metrics import DiagnosticMetrics
from grpodx.train.rewards import RewardWeights, Rubric, reward_funcs
from grpodx.types import Episode, Verdict

RUBRIC = Rubric(reward_funcs(RewardWeights()))


def episode(rank, status="diagnosed", options=()):
    case = Case("c", "Gout", (), "M10.9", "musculoskeletal", 50, "male", "My toe hurts.", (), options=options)
    e = Episode(case=case, group=0, seed=0, messages=[], status=status, turns_ok=[True, rank == 1])
    e.verdict = Verdict(credit=1.0 if rank == 1 else 0.0, correct=rank == 1, rank=rank)
    e.parts = RUBRIC.score(e)
    return e


def test_accuracy_at_k_follows_the_rank_and_failures_are_excluded():
    metrics = DiagnosticMetrics(top_k=(3,))
    metrics.update_from([episode(1), episode(3), episode(None), episode(1, status="env_error")])
    results = metrics.results("val/")
    # three scored episodes: right, truth third, truth nowhere; the env_error one is left out
    assert results["val/accuracy"] == pytest.approx(1 / 3)
    assert results["val/accuracy@3"] == pytest.approx(2 / 3)
    assert results["val/format"] == pytest.approx(1 / 3)
    assert results["val/turns"] == pytest.approx(2.0)
    assert "val/mc_accuracy" not in results  # no multiple-choice cases seen


def test_multiple_choice_accuracy_is_reported_separately():
    metrics = DiagnosticMetrics()
    metrics.update_from([episode(1, options=("Gout", "Pseudogout")), episode(None, options=("Gout", "Pseudogout")), episode(1)], multiple_choice=True)
    results = metrics.results()
    assert results["mc_accuracy"] == pytest.approx(0.5)
    assert results["accuracy"] == pytest.approx(2 / 3)


def test_leaks_env_errors_turns_to_diagnosis_pass_at_n_and_body_systems():
    from dataclasses import replace

    from grpodx.env.patient import REDACTED

    leaked = episode(1)
    leaked.dialogue = [{"role": "patient", "content": f"I was told it is {REDACTED}."}]
    heart = episode(None, status="out_of_turns")
    heart.case = replace(heart.case, body_system="cardiovascular")
    heart.group = 1
    failed = episode(1, status="env_error")
    failed.group = 1
    metrics = DiagnosticMetrics(samples=2)
    metrics.update_from([leaked, episode(None), heart, failed])  # groups: case 0 twice, case 1 twice
    r = metrics.results()
    assert r["leak"] == pytest.approx(1 / 4) and r["env_error"] == pytest.approx(1 / 4)  # over every episode
    assert r["accuracy"] == pytest.approx(1 / 3)  # env_error left out
    assert r["turns_to_diagnosis"] == pytest.approx(2.0)  # diagnosed episodes only
    assert r["pass@2"] == pytest.approx(1 / 2)  # case 0 has a right sample, case 1 none
    assert r["by_system/musculoskeletal/accuracy"] == pytest.approx(1 / 2) and r["by_system/musculoskeletal/n"] == 2
    assert r["by_system/cardiovascular/accuracy"] == 0.0 and r["by_system/cardiovascular/credit"] == 0.0
    assert not any("respiratory" in k for k in r)  # systems without cases are not reported


def test_truncated_episodes_count_as_not_diagnosed_in_every_metric():
    """A truncated episode ran out of context before a diagnosis: accuracy, credit and format 0.
    Leaving it out showed `diagnosed` 1.0 for a run where 5 of 8 episodes truncated."""
    cut = [episode(None, status="truncated") for _ in range(5)]
    for e in cut:
        e.verdict, e.parts = None, None  # as the module leaves them: only trainable episodes are scored
    metrics = DiagnosticMetrics(top_k=(3,))
    metrics.update_from([episode(1), episode(1), episode(1), *cut])
    r = metrics.results()
    assert r["truncated"] == pytest.approx(5 / 8)
    for name in ("accuracy", "accuracy@3", "credit", "diagnosed", "format"):
        assert r[name] == pytest.approx(3 / 8), name
    assert r["by_system/musculoskeletal/n"] == 8 and r["turns_to_diagnosis"] == pytest.approx(2.0)


def test_an_evaluation_mostly_truncated_warns():
    from grpodx.run.metrics import TRUNCATED_WARN_FRACTION, truncation_warning

    assert truncation_warning("test", {"truncated": TRUNCATED_WARN_FRACTION}) is None
    warning = truncation_warning("test", {"truncated": 0.625})
    assert warning is not None and "62%" in warning and "max_seq_len" in warning
