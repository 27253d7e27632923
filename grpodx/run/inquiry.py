"""What asking bought, per episode: facts revealed, questions answered, questions repeated, and
whether the diagnosis was right (for the turn-budget passes of an evaluation).

Everything here reads the episode's dialogue (what the patient saw and said), so it holds for
every patient backend. A fact counts as revealed when its text, normalised, appears in a
patient reply after the opening: exact for the embedded scripted patient (it answers with the
facts' own words, diagnosis names redacted as the leak guard does); for an LLM patient that
rewords a fact it is a lower bound.

    >>> from grpodx.cases.schema import Case, Fact
    >>> case = Case("c", "Gout", (), "M10.9", "musculoskeletal", 50, "male", "My toe hurts.",
    ...             (Fact("symptom", "It is red and hot.", key=True), Fact("social", "I drink beer.")))
    >>> dialogue = [{"role": "patient", "content": "Hello. My toe hurts."},
    ...             {"role": "doctor", "content": "Is it red?"}, {"role": "patient", "content": "It is red and hot."},
    ...             {"role": "doctor", "content": "Is it red?"}, {"role": "patient", "content": "It is red and hot."}]
    >>> revealed_facts(case, dialogue), key_fact_recall(case, dialogue)
    ((0,), 1.0)
"""

from __future__ import annotations

import re

from grpodx.cases.schema import Case
from grpodx.clinical.text import content_stems, normalise, redact
from grpodx.env.base import REDACTED
from grpodx.types import Episode, Message

_UNANSWERED = re.compile(
    r"^(hmm |um )?(i m not sure|im not sure|i am not sure|i don t know|i dont know|i do not know|"
    r"there s no result|theres no result|there is no result|that hasn t shown anything|that hasnt shown anything)\b"
)
"""How a reply that answers nothing starts (the scripted patient's `NOT_SURE` and `NO_RESULT`
wordings, and the usual LLM ones), on `normalise`d text."""


def solved(e: Episode) -> float:
    """1 when the episode ended in a diagnosis the judge calls correct; a truncated or failed
    episode is never solved (nothing inflates by dropping out)."""
    return float(e.status == "diagnosed" and e.verdict is not None and e.verdict.correct)


def _replies(dialogue: list[Message]) -> list[str]:
    """The patient's replies to questions, normalised: the opening (dialogue[0]) answers none."""
    return [normalise(m["content"]) for m in dialogue[1:] if m["role"] == "patient"]


def _in(fact: str, reply: str) -> bool:
    return bool(fact) and f" {fact} " in f" {reply} "


def revealed_facts(case: Case, dialogue: list[Message]) -> tuple[int, ...]:
    """Indices of the case's facts whose words a patient reply contains."""
    replies = _replies(dialogue)
    facts = [normalise(redact(f.text, case.names, REDACTED)[0]) for f in case.facts]  # as the leak guard sent it
    return tuple(i for i, fact in enumerate(facts) if any(_in(fact, reply) for reply in replies))


def key_fact_recall(case: Case, dialogue: list[Message]) -> float | None:
    """Share of the case's key facts revealed; None for a case without key facts (a source
    with no clusters), which is then absent from the figure rather than counted as 0 or 1."""
    keys = [i for i, f in enumerate(case.facts) if f.key]
    if not keys:
        return None
    shown = set(revealed_facts(case, dialogue))
    return sum(i in shown for i in keys) / len(keys)


def questions(e: Episode) -> list[tuple[str, str | None]]:
    """(question, reply) for each doctor turn that asked rather than diagnosed; the reply is None
    when the patient never answered (it failed, or the context ran out), which counts as
    unanswered. The last turn of an episode that ended by diagnosing, or by running out of
    turns, asked nothing the patient was due to answer."""
    pairs: list[tuple[str, str | None]] = []
    dialogue = e.dialogue
    for i, message in enumerate(dialogue):
        if message["role"] != "doctor":
            continue
        reply = dialogue[i + 1]["content"] if i + 1 < len(dialogue) and dialogue[i + 1]["role"] == "patient" else None
        if reply is None and (e.status in ("diagnosed", "out_of_turns") or e.diagnosis is not None):
            continue
        pairs.append((message["content"], reply))
    return pairs


def answered(case: Case, reply: str | None) -> bool:
    """Whether a reply answered from the case: it reveals a fact, or it is not a 'not sure' or
    'no result' reply (the chief complaint given again to "when did it start?" counts)."""
    if reply is None:
        return False
    if revealed_facts(case, [{"role": "patient", "content": ""}, {"role": "patient", "content": reply}]):
        return True
    return not _UNANSWERED.match(normalise(reply))


def question_yield(e: Episode) -> float | None:
    """Share of the episode's questions answered from the case; None when it asked none."""
    asked = questions(e)
    if not asked:
        return None
    return sum(answered(e.case, reply) for _, reply in asked) / len(asked)


def repeated_questions(e: Episode) -> int:
    """Questions that ask for nothing an earlier one did not: the same content words ('Do you
    have a fever?' after 'Any fever?'). The diagnosing turn and turns with no content words
    never count."""
    turns = [m["content"] for m in e.dialogue if m["role"] == "doctor"]
    if e.diagnosis is not None:
        turns = turns[:-1]
    seen: set[frozenset[str]] = set()
    repeats = 0
    for turn in turns:
        words = frozenset(content_stems(turn))
        repeats += bool(words) and words in seen
        seen.add(words)
    return repeats
