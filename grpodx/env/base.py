"""The two hooks the rollout needs from the environment: what the patient says, and the score.

Both are async and take one episode at a time; the rollout runs every active episode's call
concurrently. A call that finally fails raises `EnvError`: the rollout marks that episode
`env_error` (excluded from the loss, counted) instead of turning an outage into a reward.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from grpodx.cases.schema import Case
from grpodx.types import Message, Verdict

REDACTED = "[redacted]"
"""What stands in a patient reply where the diagnosis (or an alias) was redacted."""

__all__ = ["REDACTED", "EnvError", "EnvFailureStop", "EnvStats", "Judge", "Patient"]


class EnvError(RuntimeError):
    """The patient or judge could not answer (after its retries)."""


class EnvFailureStop(RuntimeError):
    """More of one step's episodes failed in the patient or judge than the run allows: the run
    stops, keeping its work (`RunControl` saves last.ckpt and the adapter, the CLI prints one
    paragraph instead of a traceback)."""


@dataclass
class EnvStats:
    """Counters an environment component accumulates over its lifetime; they only grow.

    The module reads them after each step and logs the difference from the previous read
    (`env/*`) and the running totals (`env_total/*`); nothing resets them.
    """

    calls: int = 0
    failures: int = 0
    retries: int = 0
    leaks: int = 0
    fallbacks: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)


class Patient(ABC):
    """Holds the hidden case and answers the doctor's visible questions."""

    stats: EnvStats

    @abstractmethod
    async def opening(self, case: Case, seed: int) -> str:
        """The patient's first words: demographics and chief complaint."""

    @abstractmethod
    async def reply(self, case: Case, dialogue: list[Message], seed: int) -> str:
        """Answer the doctor's last message; `dialogue` is what the patient saw, reasoning removed."""


class Judge(ABC):
    """Grades the doctor's extracted final diagnosis against the case's truth."""

    stats: EnvStats

    @abstractmethod
    async def score(self, case: Case, diagnosis: str, differential: list[str], dialogue: list[Message] | None = None) -> Verdict:
        """`dialogue` is only for an optional process score; the grade itself never reads it."""
