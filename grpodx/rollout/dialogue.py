"""The text protocol between doctor and patient: prompts, hidden reasoning, the diagnosis line.

The doctor writes `<reason>...</reason>` blocks that only it sees, then its visible reply: one
question, or `DIAGNOSIS: ...` optionally followed by `DIFFERENTIAL: a; b; c`. The original's
`Final diagnosis: ...` is accepted too, in any letter case. An unclosed `<reason>` hides
everything after it, so a diagnosis written only inside the reasoning never counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from grpodx.cases.schema import Case

REASON_OPEN, REASON_CLOSE = "<reason>", "</reason>"
_DIAGNOSIS_LINE = re.compile(r"^[ \t>*_#-]*(?:diagnosis|final diagnosis)[ \t*_]*:(.*)$", re.I | re.M)
_DIFFERENTIAL_LINE = re.compile(r"^[ \t>*_#-]*differential(?: diagnosis)?[ \t*_]*:(.*)$", re.I | re.M)
_INLINE_DIFFERENTIAL = re.compile(r"[ \t*_]*differential(?: diagnosis)?[ \t*_]*:", re.I)

SYSTEM_PROMPT = """You are a physician interviewing a patient to reach a diagnosis.
Think privately inside <reason>...</reason>; the patient never sees it.
Then write exactly one of:
- one short question to the patient (or one examination or test you want), or
- DIAGNOSIS: <the single most likely diagnosis>
  optionally followed by DIFFERENTIAL: <alternative 1>; <alternative 2>; <alternative 3>
Write nothing after your question or your diagnosis lines.
You have at most {max_turns} turns, including the one with your diagnosis."""

LAST_TURN_NOTE = "[This is your last turn: give your DIAGNOSIS now.]"
DIAGNOSIS_PREFIX = "DIAGNOSIS:"
"""What a forced final turn starts from (`rollout.force_final_diagnosis`): context, not sampled."""


@dataclass(frozen=True)
class DoctorTurn:
    """One doctor message, split into what the doctor thought and what the patient sees."""

    reasoning: str
    visible: str
    diagnosis: str | None
    differential: tuple[str, ...]
    format_ok: bool


def split_reasoning(text: str) -> tuple[str, str, bool]:
    """Return (reasoning, visible, all blocks closed and no stray closing tag).

    >>> split_reasoning("<reason>chest pain, age</reason>Any fever?")
    ('chest pain, age', 'Any fever?', True)
    >>> split_reasoning("Hi <reason>it is MI")
    ('it is MI', 'Hi', False)
    """
    reasoning, visible, rest, closed = [], [], text, True
    while rest:
        start = rest.find(REASON_OPEN)
        if start < 0:
            visible.append(rest)
            break
        visible.append(rest[:start])
        end = rest.find(REASON_CLOSE, start)
        if end < 0:  # unclosed: everything after the tag stays private
            reasoning.append(rest[start + len(REASON_OPEN) :])
            closed = False
            break
        reasoning.append(rest[start + len(REASON_OPEN) : end])
        rest = rest[end + len(REASON_CLOSE) :]
    shown = "".join(visible)
    if REASON_CLOSE in shown:
        closed = False
        shown = shown.replace(REASON_CLOSE, "")
    return "\n".join(r.strip() for r in reasoning).strip(), shown.strip(), closed


def parse_diagnosis(visible: str) -> tuple[str | None, tuple[str, ...]]:
    """The first non-empty `DIAGNOSIS:` line of the visible text, and the differential after it.

    >>> parse_diagnosis("DIAGNOSIS: Pericarditis\\nDIFFERENTIAL: MI; PE")
    ('Pericarditis', ('MI', 'PE'))

    A differential glued onto the diagnosis line (a small model drops the line break) is split
    off there, so the diagnosis the judge reads is the diagnosis alone:

    >>> parse_diagnosis("DIAGNOSIS: Gout DIFFERENTIAL: Pseudogout; Cellulitis")
    ('Gout', ('Pseudogout', 'Cellulitis'))
    """
    for match in _DIAGNOSIS_LINE.finditer(visible):
        diagnosis, inline = _diagnosis_and_inline_differential(match.group(1))
        if diagnosis:
            if inline is not None:
                items = inline
            else:
                differential = _DIFFERENTIAL_LINE.search(visible[match.end() :])
                items = differential.group(1) if differential else ""
            return diagnosis, tuple(d for d in (_clean(i) for i in re.split(r"[;\n]", items)) if d)
    return None, ()


def _diagnosis_and_inline_differential(line: str) -> tuple[str, str | None]:
    """A diagnosis line's answer, and the differential written on the same line if any."""
    inline = _INLINE_DIFFERENTIAL.search(line)
    if inline is None:
        return _clean(line), None
    return _clean(line[: inline.start()]), line[inline.end() :]


def _clean(text: str) -> str:
    return text.strip().strip("*_`\"'").rstrip(".").strip()


def is_well_formed(visible: str, closed: bool) -> bool:
    """Strict format: closed reasoning, then one question or one diagnosis (+ differential), and
    nothing after it. A loose rule lets a small model learn to repeat its diagnosis line until
    the token limit.

    >>> is_well_formed("Do you smoke?", True)
    True
    >>> is_well_formed("DIAGNOSIS: Asthma\\nDIAGNOSIS: Asthma", True)
    False
    """
    if not closed or not visible:
        return False
    diagnoses = list(_DIAGNOSIS_LINE.finditer(visible))
    if not diagnoses:
        return visible.count("?") == 1 and visible.rstrip().endswith("?")
    if len(diagnoses) > 1 or not _diagnosis_and_inline_differential(diagnoses[0].group(1))[0]:
        return False
    tail = [line for line in visible[diagnoses[0].end() :].splitlines() if line.strip()]
    return not tail or (len(tail) == 1 and bool(_DIFFERENTIAL_LINE.match(tail[0])))


def format_grade(text: str, ended: bool) -> float:
    """Graded format credit of one doctor turn: the share of three checks it passes: it stopped
    by itself (not at the token limit), its reasoning is closed, and its visible part is exactly
    one question or one diagnosis (+ differential). Unlike the all-or-nothing rule, a small
    model that gets one of them right already differs from its group.

    >>> format_grade("<reason>cough</reason>Any fever?", ended=True)
    1.0
    >>> round(format_grade("Sorry. Sorry. Sorry.", ended=False), 3)
    0.333
    """
    _, visible, closed = split_reasoning(text)
    return (float(ended) + float(closed) + float(is_well_formed(visible, True))) / 3


def read_doctor_turn(text: str) -> DoctorTurn:
    reasoning, visible, closed = split_reasoning(text)
    diagnosis, differential = parse_diagnosis(visible)
    return DoctorTurn(reasoning, visible, diagnosis, differential, is_well_formed(visible, closed))


def system_prompt(max_turns: int) -> str:
    return SYSTEM_PROMPT.format(max_turns=max_turns)


def opening_message(opening: str, case: Case, show_options: bool) -> str:
    """The patient's first words, plus the answer options in multiple-choice mode."""
    if not (show_options and case.options):
        return opening
    letters = "ABCDEFGHIJ"
    listed = "\n".join(f"{letters[i]}. {option}" for i, option in enumerate(case.options))
    return f"{opening}\n\n[Possible diagnoses; answer with one of them:\n{listed}]"


def patient_message(reply: str, last_turn: bool) -> str:
    return f"{reply}\n\n{LAST_TURN_NOTE}" if last_turn else reply


def resolve_option(diagnosis: str, options: tuple[str, ...]) -> str:
    """Map a multiple-choice answer given by letter ('B', 'B.', 'B. Psoriasis') to its option."""
    match = re.fullmatch(r"\(?([A-Ja-j])\)?(?:[.):]\s*(.*))?", diagnosis.strip())
    if not match or not options:
        return diagnosis
    index = ord(match.group(1).upper()) - ord("A")
    return options[index] if index < len(options) else diagnosis
