"""Reward parts: small pure functions, weighted and summed.

reward = w_dx * judged + w_format * format_ok - w_turn * questions_asked

`judged` is the judge's credit, blended with its optional process score by the judge's own
`process_weight` (`Verdict.total`); it equals the credit by default.
"""

from __future__ import annotations

from dataclasses import dataclass

from grpodx.knobs import require


@dataclass
class RewardWeights:
    """Weights of the reward parts: reward = w_dx * judged + w_format * format_ok - w_turn * questions."""

    w_dx: float = 1.0
    """Weight of the judge's score (0..1): diagnostic credit, blended with the process score
    when `judge.process_weight` > 0."""
    w_format: float = 0.2
    """Weight of strict format compliance over the whole episode (0 or 1)."""
    w_turn: float = 0.02
    """Cost of each question asked, so that asking earns its keep."""

    def __post_init__(self) -> None:
        require("model.reward", {name: (getattr(self, name) >= 0, ">= 0") for name in ("w_dx", "w_format", "w_turn")}, self)


def diagnosis_credit(credit: float | None) -> float:
    """The judge's credit, 0 when there was no diagnosis to judge.

    >>> diagnosis_credit(0.5), diagnosis_credit(None)
    (0.5, 0.0)
    """
    return 0.0 if credit is None else credit


def format_reward(turns_ok: list[bool]) -> float:
    """1 when every doctor turn was well formed, else 0 (strict on purpose).

    >>> format_reward([True, True]), format_reward([True, False]), format_reward([])
    (1.0, 0.0, 0.0)
    """
    return float(bool(turns_ok) and all(turns_ok))


def questions_asked(turns: int, diagnosed: bool) -> int:
    """Doctor turns that were not the diagnosis.

    >>> questions_asked(3, diagnosed=True), questions_asked(5, diagnosed=False)
    (2, 5)
    """
    return turns - 1 if diagnosed else turns


def total_reward(parts: dict[str, float], weights: RewardWeights) -> float:
    """Weighted sum of the parts.

    >>> total_reward({"judged": 1.0, "format": 1.0, "questions": 2}, RewardWeights())
    1.16
    """
    return round(weights.w_dx * parts["judged"] + weights.w_format * parts["format"] - weights.w_turn * parts["questions"], 10)
