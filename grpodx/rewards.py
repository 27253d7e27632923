"""Reward parts: small pure functions, weighted and summed.

reward = w_dx * judged + w_format * format_ok + w_format_graded * format_graded - w_turn * questions_asked

`judged` is the judge's credit, blended with its optional process score by the judge's own
`process_weight` (`Verdict.total`); it equals the credit by default.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RewardWeights:
    w_dx: float = 1.0
    """Weight of the judge's score (0..1): diagnostic credit, blended with the process score
    when `judge.process_weight` > 0."""
    w_format: float = 0.2
    """Weight of strict format compliance over the whole episode (0 or 1)."""
    w_turn: float = 0.02
    """Cost of each question asked, so that asking earns its keep."""
    w_format_graded: float = 0.0
    """Weight of graded format credit (0..1, the mean over turns of `dialogue.format_grade`):
    partial credit for stopping cleanly, closed reasoning and one question or diagnosis per
    turn, so an untrained model's groups differ before any turn is perfect (the cold start)."""

    def __post_init__(self) -> None:
        if min(self.w_dx, self.w_format, self.w_turn, self.w_format_graded) < 0:
            raise ValueError("reward weights (reward.w_dx, w_format, w_turn, w_format_graded) must be >= 0")


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


def graded_format_reward(turn_grades: list[float]) -> float:
    """Mean graded format credit over the doctor's turns (0 with no turn).

    >>> graded_format_reward([1.0, 0.5]), graded_format_reward([])
    (0.75, 0.0)
    """
    return sum(turn_grades) / len(turn_grades) if turn_grades else 0.0


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
    graded = weights.w_format_graded * parts.get("format_graded", 0.0)
    return round(weights.w_dx * parts["judged"] + weights.w_format * parts["format"] + graded - weights.w_turn * parts["questions"], 10)
