"""The records every layer shares: messages, the judge's verdict, reward parts, episodes.

They live here, below every subpackage, so that rollout, rewards, the environment and the
run's callbacks can all name them without importing each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import astuple, dataclass, field, fields
from typing import Literal, TypedDict, get_args

from grpodx.cases.schema import Case

Role = Literal["doctor", "patient"]
"""Who speaks, in the patient's view of the dialogue (visible text only)."""
ChatRole = Literal["system", "user", "assistant"]
"""A chat template's roles, for the model that is speaking as the assistant."""


class Message(TypedDict):
    role: Role
    content: str


class ChatMessage(TypedDict):
    role: ChatRole
    content: str


DOCTOR_CHAT_ROLE: dict[Role, ChatRole] = {"doctor": "assistant", "patient": "user"}
"""The doctor model's chat: it is the assistant, the patient is the user (`Episode.messages`)."""
PATIENT_CHAT_ROLE: dict[Role, ChatRole] = {"doctor": "user", "patient": "assistant"}
"""A patient LLM's chat: the other way round."""


@dataclass(frozen=True)
class Verdict:
    """The judge's grade of one final diagnosis."""

    credit: float
    """0..1, partial credit for partly right answers."""
    correct: bool
    """The final diagnosis is the truth or one of its aliases."""
    rank: int | None = None
    """1 when the final diagnosis is right, k when the truth is the (k-1)-th differential item,
    None when the truth appears nowhere: accuracy@k counts rank <= k."""
    rationale: str = ""
    process: float | None = None
    """Optional process score (question quality, reasoning) in 0..1."""
    process_weight: float = 0.0
    """The judge's `process_weight`: how much `process` counts in `total`."""

    @property
    def total(self) -> float:
        """Credit blended with the process score: (1 - w) * credit + w * process.

        Equals `credit` when no process score was asked for (the default).
        """
        if self.process is None or self.process_weight == 0:
            return self.credit
        return (1 - self.process_weight) * self.credit + self.process_weight * self.process


@dataclass(frozen=True)
class RewardParts:
    """What each reward function gave one episode; logged as `reward/<field>`."""

    judged: float
    format: float
    """1.0 when every doctor turn was well formed: the episode's format flag."""
    questions: float
    credit: float
    process: float
    format_graded: float = 0.0
    """Mean graded format credit over the turns (see `graded_format`)."""
    key_facts: float = 0.0
    """Focused share of the case's key facts revealed (see `rewards.key_facts_found`)."""

    def items(self) -> Iterator[tuple[str, float]]:
        return zip((f.name for f in fields(self)), astuple(self), strict=True)


Status = Literal["active", "diagnosed", "out_of_turns", "truncated", "env_error"]
"""`active` while the conversation runs; one of the others once it is over."""
STATUSES: tuple[Status, ...] = tuple(s for s in get_args(Status) if s != "active")
"""The finished statuses."""


_SPEAKER = {chat: role for role, chat in DOCTOR_CHAT_ROLE.items()}  # transcripts name who spoke


@dataclass
class Episode:
    """One doctor-patient conversation and everything needed to train on it."""

    case: Case
    group: int
    seed: int
    messages: list[ChatMessage]
    """The doctor's view in chat-template roles, its reasoning included."""
    dialogue: list[Message] = field(default_factory=list)
    """The patient's view: visible text only."""
    token_ids: list[int] = field(default_factory=list)
    doctor_mask: list[int] = field(default_factory=list)
    turns_ok: list[bool] = field(default_factory=list)
    turn_grades: list[float] = field(default_factory=list)
    """Graded format credit of each doctor turn (`dialogue.format_grade`)."""
    diagnosis: str | None = None
    differential: tuple[str, ...] = ()
    status: Status = "active"
    error: str = ""
    verdict: Verdict | None = None
    reward: float = 0.0
    parts: RewardParts | None = None
    """Set by scoring, for trainable episodes only."""
    prefill_tokens: int = 0
    """Tokens the doctor encoded as prompt over all turns (with its KV cache: only what each turn added)."""

    @property
    def turns(self) -> int:
        return len(self.turns_ok)

    @property
    def trainable(self) -> bool:
        return self.status in ("diagnosed", "out_of_turns")

    def append(self, ids: list[int], doctor: bool) -> None:
        self.token_ids.extend(ids)
        self.doctor_mask.extend([int(doctor)] * len(ids))

    def transcript(self) -> str:
        """Markdown for TensorBoard: the whole conversation, reasoning included."""
        lines = [f"**case** {self.case.id} — truth: {self.case.diagnosis} — status: {self.status}", ""]
        for message in self.messages[1:]:
            who = _SPEAKER.get(message["role"], message["role"])
            lines.append(f"**{who}:** {message['content']}  ")
        parts = ", ".join(f"{k}={v:.3g}" for k, v in self.parts.items()) if self.parts else "not scored"
        lines += ["", f"diagnosis: {self.diagnosis!r}; differential: {list(self.differential)}; reward {self.reward:.3f} ({parts})"]
        return "\n".join(lines)
