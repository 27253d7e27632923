"""Uncertainty over cases: bootstrap intervals, McNemar's exact test, a paired bootstrap test.

Resampling is over cases (a cluster bootstrap): a case evaluated with several samples counts
once, so extra samples narrow an interval only as far as they really add information. Every
function takes a seed and gives the same numbers for the same inputs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from math import comb
from typing import Any

import numpy as np

RESAMPLES = 2000
HEADLINE = (
    "accuracy",
    "accuracy@3",
    "accuracy@5",
    "credit",
    "diagnosed",
    "turns_to_diagnosis",
    "format",
    "leak",
    "env_error",
    "accuracy_open",
    "asking_gain",
    "key_fact_recall",
    "question_yield",
    "repeated_questions",
)
"""The figures that carry an interval in a results file, with accuracy at every turn budget
evaluated (`BY_TURNS`<b>)."""
BY_TURNS = "accuracy_by_turns/"
"""Prefix of accuracy at each turn budget: accuracy_by_turns/1 .. accuracy_by_turns/<max_turns>."""


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high}


def bootstrap_interval(sums: list[float], counts: list[float], seed: int, level: float = 0.95, resamples: int = RESAMPLES) -> Interval:
    """Percentile interval of sum(sums) / sum(counts) when cases are drawn with replacement.

    Case i contributes `sums[i]` over `counts[i]` episodes; a case with count 0 (all its
    episodes excluded) still takes part in the draw, as it did in the evaluation.

    >>> bootstrap_interval([1, 0, 1, 1], [1, 1, 1, 1], seed=0).value
    0.75
    """
    s, n = np.asarray(sums, dtype=float), np.asarray(counts, dtype=float)
    if len(s) == 0 or n.sum() == 0:
        raise ValueError("a bootstrap interval needs at least one case with data")
    draws = np.random.default_rng(seed).integers(0, len(s), size=(resamples, len(s)))  # [R, cases]
    totals, weights = s[draws].sum(axis=1), n[draws].sum(axis=1)  # [R], [R]
    means = totals[weights > 0] / weights[weights > 0]
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return Interval(float(s.sum() / n.sum()), float(low), float(high))


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pairs.

    `b` = cases right before and wrong after, `c` = wrong before and right after. Under no
    change each discordant pair goes either way with probability 1/2, so the p-value is the
    two-sided binomial tail: 2 * P(X <= min(b, c)), X ~ Binomial(b + c, 1/2), capped at 1.

    >>> mcnemar_exact(0, 6)  # 2 * (1/2)**6
    0.03125
    >>> mcnemar_exact(3, 3)
    1.0
    """
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(comb(n, i) for i in range(min(b, c) + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired_bootstrap_p(before: list[float], after: list[float], seed: int, resamples: int = RESAMPLES) -> float:
    """Two-sided p-value that the mean paired difference (after - before) is zero.

    The differences are centred (made to satisfy the null) and resampled over cases; the
    p-value is the share of resampled means at least as far from 0 as the observed one, with
    the usual +1 so that it is never exactly 0.
    """
    if len(before) != len(after) or not before:
        raise ValueError(f"a paired test needs equal, non-empty lists, got {len(before)} and {len(after)}")
    d = np.asarray(after, dtype=float) - np.asarray(before, dtype=float)  # [cases]
    observed = abs(d.mean())
    centred = d - d.mean()
    draws = np.random.default_rng(seed).integers(0, len(d), size=(resamples, len(d)))  # [R, cases]
    extreme = np.abs(centred[draws].mean(axis=1)) >= observed - 1e-12
    return float((1 + extreme.sum()) / (1 + resamples))


def intervals(records: list[dict[str, Any]], seed: int, samples: int = 1) -> dict[str, dict[str, float]]:
    """Bootstrap 95% intervals over cases for the headline figures that have data; `records`
    are transcript lines (grpodx.run.results), each with the episode's metric `values`."""
    by_case: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_case[r["case"]].append(r["values"])
    out: dict[str, dict[str, float]] = {}
    budgets = sorted({k for r in records for k in r["values"] if k.startswith(BY_TURNS)}, key=lambda k: int(k[len(BY_TURNS) :]))
    for name in (*HEADLINE, *budgets):
        sums = [float(sum(v[name] for v in vs if v.get(name) is not None)) for vs in by_case.values()]
        counts = [float(sum(v.get(name) is not None for v in vs)) for vs in by_case.values()]
        if sum(counts):
            out[name] = bootstrap_interval(sums, counts, seed).as_dict()
    if samples > 1:
        sums, counts = _passes(by_case.values())
        if sum(counts):
            out[f"pass@{samples}"] = bootstrap_interval(sums, counts, seed).as_dict()
    return out


def asking_gain_test(records: list[dict[str, Any]]) -> dict[str, float] | None:
    """McNemar's exact test of accuracy against accuracy_open on the same episodes: `gained`
    were right only after asking, `lost` only when made to diagnose at once. None when the
    records have no first-turn pass. (With several samples per case the pairs are not
    independent: read the p-value as approximate.)"""
    opened = [r["values"] for r in records if r["values"].get("accuracy_open") is not None]
    pairs = [(v["accuracy_open"] == 1, v["accuracy_open"] + v["asking_gain"] == 1) for v in opened]  # (right at once, right after asking)
    if not pairs:
        return None
    gained, lost = sum(b and not a for a, b in pairs), sum(a and not b for a, b in pairs)
    return {"p": mcnemar_exact(lost, gained), "gained": gained, "lost": lost, "pairs": len(pairs)}


def _passes(cases: Iterable[list[dict[str, Any]]]) -> tuple[list[float], list[float]]:
    """Per case: 1 when any scored sample is correct, and whether the case had a scored sample."""
    sums, counts = [], []
    for values in cases:
        scored = [v["accuracy"] for v in values if v["accuracy"] is not None]
        sums.append(max(scored, default=0.0))
        counts.append(float(bool(scored)))
    return sums, counts
