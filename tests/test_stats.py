"""Intervals and paired tests over cases, with hand-derived numbers."""

import pytest

from grpodx.tools.stats import bootstrap_interval, intervals, mcnemar_exact, paired_bootstrap_p


def test_mcnemar_exact_matches_the_binomial_tail():
    # 1 lost, 7 gained: 2 * P(X <= 1), X ~ Bin(8, 1/2) = 2 * (1 + 8) / 256 = 0.0703125
    assert mcnemar_exact(1, 7) == pytest.approx(0.0703125)
    assert mcnemar_exact(7, 1) == mcnemar_exact(1, 7)
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(4, 4) == 1.0  # 2 * P(X <= 4), X ~ Bin(8, 1/2) > 1: capped


def test_bootstrap_interval_is_seeded_contains_the_mean_and_narrows_with_more_cases():
    small = bootstrap_interval([1, 0] * 10, [1] * 20, seed=3)
    assert small == bootstrap_interval([1, 0] * 10, [1] * 20, seed=3)
    assert small.value == 0.5 and small.low < 0.5 < small.high
    large = bootstrap_interval([1, 0] * 500, [1] * 1000, seed=3)
    assert large.high - large.low < (small.high - small.low) / 3  # ~1/sqrt(50) as wide
    assert bootstrap_interval([1, 1, 1], [1, 1, 1], seed=0).as_dict() == {"value": 1.0, "low": 1.0, "high": 1.0}
    with pytest.raises(ValueError, match="at least one case"):
        bootstrap_interval([0.0], [0], seed=0)


def test_paired_bootstrap_separates_a_real_change_from_none():
    before = [0.0] * 30
    assert paired_bootstrap_p(before, [1.0] * 25 + [0.0] * 5, seed=0) < 0.01
    assert paired_bootstrap_p(before, [1.0, -1.0] * 15, seed=0) > 0.5
    with pytest.raises(ValueError, match="equal"):
        paired_bootstrap_p([1.0], [1.0, 2.0], seed=0)


def test_intervals_resample_cases_not_episodes():
    # case a: two samples, both right; case b: two samples, one scored (wrong), one env_error
    rows = [("a", 1.0), ("a", 1.0), ("b", 0.0), ("b", None)]
    records = [{"case": c, "values": {"accuracy": v, "env_error": float(v is None)}} for c, v in rows]
    out = intervals(records, seed=0, samples=2)
    assert out["accuracy"]["value"] == pytest.approx(2 / 3)  # 2 right of 3 scored episodes
    assert out["env_error"]["value"] == pytest.approx(1 / 4)
    assert out["pass@2"]["value"] == pytest.approx(1 / 2)  # case a passes, case b does not
    assert out["pass@2"]["low"] == 0.0 and out["pass@2"]["high"] == 1.0
