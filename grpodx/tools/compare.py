"""Two evaluations of the same held-out patients, compared pair by pair: the before/after line
that `fit` prints at its end (`BeforeAfter`) and the tables of scripts/learn_summary.py.

Each figure is paired on the (case, sample) episodes both evaluations hold: accuracy with
McNemar's exact test on the discordant pairs, `asking_gain` and `key_fact_recall` with a paired
bootstrap over episodes. A figure an evaluation lacks (no first-turn pass, no key facts) is left
out, not shown as 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from grpodx.tools.runs import Evaluation, paired
from grpodx.tools.stats import mcnemar_exact, paired_bootstrap_p

PAIRED = ("accuracy", "asking_gain", "key_fact_recall")


@dataclass(frozen=True)
class Change:
    """One figure before and after, on the same episodes, with its two-sided p-value."""

    figure: str
    pairs: int
    before: float
    after: float
    p: float
    test: str

    def line(self) -> str:
        return f"{self.figure} {self.before:.3f} -> {self.after:.3f} ({self.after - self.before:+.3f}, p={self.p:.3g} {self.test}, n={self.pairs})"


def _values(records: list[dict], figure: str) -> list[float | None]:
    if figure == "accuracy":  # failures count as wrong: nothing looks better by dropping out
        return [float(r["correct"] and r["status"] == "diagnosed") for r in records]
    return [r["values"].get(figure) for r in records]


def compare(before: Evaluation, after: Evaluation, figures: tuple[str, ...] = PAIRED, seed: int = 0) -> list[Change]:
    """Each figure both evaluations measured, before and after on their shared episodes."""
    earlier, later = paired(before, after)
    changes = []
    for figure in figures:
        pairs = [(x, y) for x, y in zip(_values(earlier, figure), _values(later, figure)) if x is not None and y is not None]
        if not pairs:
            continue
        xs, ys = [x for x, _ in pairs], [y for _, y in pairs]
        if figure == "accuracy":
            lost = sum(x > y for x, y in pairs)
            gained = sum(y > x for x, y in pairs)
            p, test = mcnemar_exact(lost, gained), f"McNemar {gained} gained, {lost} lost"
        else:
            p, test = paired_bootstrap_p(xs, ys, seed=seed), "paired bootstrap"
        changes.append(Change(figure, len(pairs), sum(xs) / len(xs), sum(ys) / len(ys), p, test))
    return changes
