"""The reward rule, in one place: named, weighted reward functions over an episode (a rubric).

reward = w_dx * judged + w_format * format + w_format_graded * format_graded
         + w_key_fact * key_facts - w_turn * questions

Each reward function is small and pure. Its parameters name the `Episode` attributes it reads
(`verdict`, `turns_ok`, `turns`, `status`), so it is tested on plain values and the rubric feeds
it from the episode. `credit` and `process` carry weight 0: they are reported, not rewarded.
`judged` is the judge's credit blended with its optional process score by the judge's own
`process_weight` (`Verdict.total`); it equals the credit by default.

A new reward function is one line in `reward_funcs()` plus its field in `RewardParts` (and,
when it is weighted, its weight in `RewardWeights`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grpodx.cases.schema import Case
    from grpodx.types import Episode, Message, Verdict

from grpodx.run.inquiry import revealed_facts
from grpodx.run.knobs import require
from grpodx.types import RewardParts


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
    w_format_graded: float = 0.0
    """Weight of graded format credit (0..1, the mean over turns of `dialogue.format_grade`):
    partial credit for stopping cleanly, closed reasoning and one question or diagnosis per
    turn, so an untrained model's groups differ before any turn is perfect (the cold start)."""

    w_key_fact: float = 0.0
    """Weight of the information reward (0..1, `key_facts_found`): the share of the case's key
    facts the patient revealed, at most one a reply, so a shotgun question listing every cue
    pays no more than one focused question. 0 for cases without key facts (sources with no
    clusters)."""

    def __post_init__(self) -> None:
        require("model.reward", {name: (getattr(self, name) >= 0, ">= 0") for name in ("w_dx", "w_format", "w_turn", "w_format_graded", "w_key_fact")}, self)


def mean_parts(parts: list[RewardParts]) -> Iterator[tuple[str, float]]:
    """Each part's mean over episodes; nothing for no episodes.

    >>> dict(mean_parts([RewardParts(1.0, 1.0, 2.0, 1.0, 0.0), RewardParts(0.0, 1.0, 4.0, 0.0, 0.0)]))
    {'judged': 0.5, 'format': 1.0, 'questions': 3.0, 'credit': 0.5, 'process': 0.0, 'format_graded': 0.0, 'key_facts': 0.0}
    """
    if parts:
        for f in fields(RewardParts):
            yield f.name, sum(getattr(p, f.name) for p in parts) / len(parts)


def judged(verdict: Verdict | None) -> float:
    """The judge's score (credit blended with its process score); 0 when nothing was judged.

    >>> from grpodx.types import Verdict
    >>> judged(Verdict(credit=0.5, correct=False, process=1.0, process_weight=0.5)), judged(None)
    (0.75, 0.0)
    """
    return 0.0 if verdict is None else verdict.total


def credit(verdict: Verdict | None) -> float:
    """The judge's diagnostic credit alone; 0 when nothing was judged.

    >>> from grpodx.types import Verdict
    >>> credit(Verdict(credit=0.5, correct=False, process=1.0, process_weight=0.5)), credit(None)
    (0.5, 0.0)
    """
    return 0.0 if verdict is None else verdict.credit


def process(verdict: Verdict | None) -> float:
    """The judge's process score, 0 when it gave none.

    >>> from grpodx.types import Verdict
    >>> process(Verdict(credit=1.0, correct=True, process=0.25)), process(Verdict(credit=1.0, correct=True))
    (0.25, 0.0)
    """
    return 0.0 if verdict is None or verdict.process is None else verdict.process


def strict_format(turns_ok: list[bool]) -> float:
    """1 when every doctor turn was well formed, else 0 (strict on purpose).

    >>> strict_format([True, True]), strict_format([True, False]), strict_format([])
    (1.0, 0.0, 0.0)
    """
    return float(bool(turns_ok) and all(turns_ok))


def graded_format(turn_grades: list[float]) -> float:
    """Mean graded format credit over the doctor's turns (0 with no turn).

    >>> graded_format([1.0, 0.5]), graded_format([])
    (0.75, 0.0)
    """
    return sum(turn_grades) / len(turn_grades) if turn_grades else 0.0


def questions_asked(turns: int, status: str) -> float:
    """Doctor turns that were not the diagnosis.

    >>> questions_asked(3, "diagnosed"), questions_asked(5, "out_of_turns")
    (2.0, 5.0)
    """
    return float(turns - 1 if status == "diagnosed" else turns)


def key_facts_found(case: Case, dialogue: list[Message]) -> float:
    """The information reward: the share of the case's key facts the patient revealed, at most
    one new key fact counted per reply.

    One reply earns at most one key fact, so a shotgun question stringing every cue together
    ("where, does it spread, any vomiting, food, alcohol, fever?") earns what one focused
    question earns, never both key facts at once: finding them takes asking. Asking again
    reveals nothing new and earns nothing. 0 for a case without key facts.
    """
    keys = {i for i, f in enumerate(case.facts) if f.key}
    if not keys:
        return 0.0
    found: set[int] = set()
    earned = 0
    for message in dialogue[1:]:  # dialogue[0] is the opening, which answers no question
        if message["role"] == "patient":
            new = (set(revealed_facts(case, [dialogue[0], message])) & keys) - found
            if new:
                found.add(min(new))
                earned += 1
    return earned / len(keys)


@dataclass(frozen=True)
class RewardFunc:
    name: str
    """The `RewardParts` field it fills."""
    fn: Callable[..., float]
    weight: float
    """Its weight in the total; negative for a cost, 0 for a part that is only reported."""


def reward_funcs(weights: RewardWeights) -> list[RewardFunc]:
    return [
        RewardFunc("judged", judged, weights.w_dx),
        RewardFunc("format", strict_format, weights.w_format),
        RewardFunc("questions", questions_asked, -weights.w_turn),
        RewardFunc("credit", credit, 0.0),
        RewardFunc("process", process, 0.0),
        RewardFunc("format_graded", graded_format, weights.w_format_graded),
        RewardFunc("key_facts", key_facts_found, weights.w_key_fact),
    ]


class Rubric:
    """Scores episodes with reward functions: their parts, and the weighted sum of the parts."""

    def __init__(self, funcs: list[RewardFunc]) -> None:
        names = [f.name for f in funcs]
        expected = [f.name for f in fields(RewardParts)]
        if sorted(names) != sorted(expected):
            raise ValueError(f"the rubric's reward functions {names} must fill exactly the RewardParts fields {expected}")
        self.funcs = funcs
        self._params = {f.name: tuple(inspect.signature(f.fn).parameters) for f in funcs}

    def score(self, episode: Episode) -> RewardParts:
        values = {}
        for func in self.funcs:
            missing = [p for p in self._params[func.name] if not hasattr(episode, p)]
            if missing:
                raise TypeError(f"reward function {func.name!r} reads {missing}, which an Episode does not have")
            values[func.name] = float(func.fn(**{p: getattr(episode, p) for p in self._params[func.name]}))
        return RewardParts(**values)

    def total(self, parts: RewardParts) -> float:
        """Weighted sum of the parts (rounded, so that equal parts give exactly equal rewards).

        >>> r = Rubric(reward_funcs(RewardWeights()))
        >>> r.total(RewardParts(judged=1.0, format=1.0, questions=2.0, credit=1.0, process=0.0))
        1.16
        """
        return round(sum(f.weight * getattr(parts, f.name) for f in self.funcs), 10)
