"""The scripted patient: answers a doctor's question from the case's facts, no model involved.

How a question finds its facts, in order:
1. Cues. A fact's `ask` cue matches at the start of a word of the normalised question
   ("radiat" matches "radiating"; multi-word cues match as phrases); history, medication and
   family facts also answer the routine questions of their kind (`KIND_CUES`). Every matched fact that
   covers a meaningful word of the question no earlier fact covered is answered (at most
   `MAX_FACTS`), so "Do you smoke or drink?" gets both the smoking and the alcohol fact.
2. Onset-style questions ("When did it start?") fall back to the chief complaint.
3. Overlap. When no cue matches (imported cases often have none), facts are ranked by the
   content words they share with the question, rarer words weighing more; an examination or
   order with no matching cue is only ever answered by an exam or test fact.
Exam and test facts are eligible only when the doctor examines or orders something (the
measurement role in AgentClinic); then they are answered first.

Questions and facts are compared in `grpodx.clinical.text.canonical` form (ECG/electrocardiogram,
belly/abdomen, pee/urine are one word each) and on word stems (smoke/smoking/smoker); a tag
question ("..., right?") is cut off first, so it never selects a fact.

What the case does not mention gets "I'm not sure ...", never "no": a case's silence is not a
pertinent negative, and a "no" would teach the doctor findings the case never stated. Negated
findings are answered with the case's own `negative` fact ("No, I haven't had a fever.").
The seed picks among phrasings (greeting, not-sure wording), never which fact is answered.
The patient only ever sees a `PatientSheet`, which has no diagnosis in it.
"""

from __future__ import annotations

import json
import math
import random
import re
from dataclasses import dataclass
from typing import Any

from grpodx.cases.schema import FACT_KINDS, MEASURED_KINDS, Case, Fact
from grpodx.clinical.text import STOPWORDS, canonical, content_stems, cue_spans, normalise

MAX_FACTS = 3

MEASUREMENT_CUES = (
    "examin",
    "exam",
    "check",
    "order",
    "listen",
    "auscultat",
    "palpat",
    "percuss",
    "test",
    "x ray",
    "xray",
    "radiograph",
    "ecg",
    "ekg",
    "electrocardiogram",
    "echo",
    "scan",
    "ct",
    "mri",
    "ultrasound",
    "sonograph",
    "vital",
    "measure",
    "look at",
    "have a look",
    "take a look",
    "blood work",
    "bloodwork",
    "the bloods",
    "some bloods",
    "bloods done",
    "labs",
    "laboratory",
    "lab test",
    "lab work",
    "result",
    "level",
    "culture",
    "swab",
    "urinalysis",
    "urine sample",
    "biopsy",
    "imaging",
    "run a",
    "run some",
    "send",
    "obtain",
    "perform",
    "draw",
    "saturation",
    "oximet",
    "reflex",
    "fundoscop",
    "otoscop",
    "press on",
    "feel your",
    "blood count",
    "full blood",
    "blood test",
    "blood gas",
    "panel",
    "studies",
    "lumbar puncture",
    "spinal tap",
    "aspirat",
    "angiogra",
    "endoscop",
    "colonoscop",
    "dipstick",
    "smear",
    "serology",
    "i d like",
    "i would like",
    "we need",
    "we should",
    "let s get",
    "let s do",
    "let s run",
    "let s check",
    "get a",
    "get an",
    "do a",
    "do an",
)
"""Words of a doctor who examines or orders: only then are exam and test facts revealed."""

KIND_CUES = {
    "history": ("medical history", "past medical", "medical condition", "conditions", "health problems", "illnesses"),
    "medication": ("medication", "medicine", "pills", "tablets", "prescri"),
    "family": ("family", "relatives", "run in"),
}
"""Routine questions every fact of a kind answers, whatever cues its author wrote (and for
imported facts with none). Social facts get none: 'Do you smoke?' must not find a diet fact."""

ONSET_CUES = (
    "how long",
    "when did",
    "since when",
    "start",
    "began",
    "begin",
    "onset",
    "first notice",
    "what brings",
    "what brought",
    "tell me more",
    "describe",
    "what happened",
    "how did it",
)

NOT_SURE = (
    "I'm not sure.",
    "I'm not sure, I haven't really paid attention to that.",
    "Hmm, I'm not sure about that.",
)
NO_RESULT = (
    "There's no result available for that.",
    "That hasn't shown anything that I've been told about.",
)
GREETINGS = ("Hello, doctor.", "Hi, doctor.", "Good morning, doctor.")


@dataclass(frozen=True)
class PatientSheet:
    """What a patient simulator may know: everything in the case except the diagnosis."""

    demographics: str
    chief_complaint: str
    facts: tuple[Fact, ...]

    @classmethod
    def from_case(cls, case: Case) -> PatientSheet:
        return cls(case.demographics, case.chief_complaint, case.facts)

    def to_json(self) -> str:
        facts = [{"kind": f.kind, "text": f.text, "ask": list(f.ask)} for f in self.facts]
        return json.dumps({"demographics": self.demographics, "chief_complaint": self.chief_complaint, "facts": facts})

    @classmethod
    def from_json(cls, text: str) -> PatientSheet:
        """Parse `to_json` output; a malformed sheet is a ValueError naming the field."""
        raw: Any = json.loads(text)
        if not isinstance(raw, dict) or not isinstance(raw.get("chief_complaint"), str):
            raise ValueError("patient sheet: field 'chief_complaint' must be a string")
        facts = []
        for index, fact in enumerate(raw.get("facts", [])):
            if not isinstance(fact, dict) or fact.get("kind") not in FACT_KINDS or not isinstance(fact.get("text"), str):
                raise ValueError(f"patient sheet: field 'facts[{index}]' needs a known 'kind' and a 'text' string")
            facts.append(Fact(fact["kind"], fact["text"], tuple(fact.get("ask", ()))))
        return cls(str(raw.get("demographics", "")), raw["chief_complaint"], tuple(facts))


def _rng(seed: int, question: str) -> random.Random:
    return random.Random(f"{seed}\x00{question}")  # str seeds hash with SHA-512: stable across runs


_TAG = re.compile(
    r"[,;]?\s*\b(right|ok|okay|yes|no|correct|true|huh|eh|isn'?t it|is it|aren'?t you|don'?t you|do you|"
    r"haven'?t you|have you|didn'?t you|did you|wasn'?t it|was it|or not)\s*\?+\s*$",
    re.IGNORECASE,
)


def opening(sheet: PatientSheet, seed: int) -> str:
    """Greeting, demographics and the chief complaint; a parent speaks for a baby."""
    greeting = _rng(seed, "").choice(GREETINGS)
    if not sheet.demographics:
        who = ""
    elif re.search(r"\b(baby|newborn|infant)\b", sheet.demographics):
        who = f" This is my {sheet.demographics}."
    else:
        who = f" I'm a {sheet.demographics}."
    return f"{greeting}{who} {sheet.chief_complaint}"


_ACKNOWLEDGEMENT = re.compile(
    r"(i see|i understand|understood|got it|ok|okay|alright|all right|right|sure|fine|good|great|thanks|thank you|hmm+|mm+|uh huh|oh)"
    r"( (doctor|then|so|thanks|thank you|ok|okay|i see))*"
)
"""A turn that only acknowledges ("I see.", "Okay, thanks."): it asks for nothing, so nothing is
answered ('see' is a cue of visual symptoms, and must not reveal them)."""


def untagged(question: str) -> str:
    """The question without a trailing tag ('You smoke, right?' -> 'You smoke')."""
    return _TAG.sub("", question.strip())


def is_measurement(question: str) -> bool:
    """Whether the doctor examines or orders something (exam and test facts become visible)."""
    return bool(cue_spans(canonical(question), MEASUREMENT_CUES))


ASKING_WORDS = frozenset({"where"})
"""Stopwords that still ask for something when a fact's cue names them: 'Where is the pain
worst?' asks for the location fact, though 'where' says nothing in word overlap."""


def _by_cues(question: str, facts: list[Fact], measuring: bool) -> list[Fact]:
    scored = []
    for position, fact in enumerate(facts):
        cues = (*fact.ask, *KIND_CUES.get(fact.kind, ()))
        spans = cue_spans(question, cues)
        if spans:
            measured_first = 0 if measuring and fact.kind in MEASURED_KINDS else 1
            # a phrase cue ('look like', 'how long') is meaningful even when made of stopwords
            phrases = cue_spans(question, [c for c in cues if " " in c.strip()])
            scored.append((measured_first, -len(spans), position, fact, spans, phrases))
    chosen: list[tuple[int, Fact]] = []
    covered: set[int] = set()
    answered: set[tuple[frozenset[int], bool]] = set()
    for measured_first, _, _, fact, spans, phrases in sorted(scored, key=lambda item: item[:3]):
        new = spans - covered
        # A further fact must answer a meaningful word no earlier fact answered ("take a deep
        # breath" asks about breathing, not about the medication fact whose cue is "take"), or
        # answer exactly what an earlier one did, from the same side of the measurement line
        # ("What medications do you take?": the prescriptions and the denied drying medicines).
        twin = (frozenset(spans), measured_first == 0) in answered
        if len(chosen) < MAX_FACTS and ((not chosen and _meaningful(question, spans, phrases)) or twin or (new and _meaningful(question, new, phrases))):
            chosen.append((min(spans), fact))
            covered |= spans
            answered.add((frozenset(spans), measured_first == 0))
    return [fact for _, fact in sorted(chosen, key=lambda item: item[0])]  # in the question's order


def _meaningful(question: str, positions: set[int], phrases: set[int] | frozenset[int] = frozenset()) -> bool:
    if positions & phrases:
        return True
    start = 0
    for word in question.split(" "):
        if positions & set(range(start, start + len(word))) and (word not in STOPWORDS or word in ASKING_WORDS):
            return True
        start += len(word) + 1
    return False


def _by_overlap(question: str, facts: list[Fact]) -> list[Fact]:
    wanted = content_stems(question)
    stems = [content_stems(f.text) for f in facts]
    weight = {s: math.log(1 + len(facts) / sum(s in fs for fs in stems)) for s in wanted if any(s in fs for fs in stems)}
    chosen: list[Fact] = []
    covered: set[str] = set()
    ranked = sorted(range(len(facts)), key=lambda i: (-sum(weight.get(s, 0.0) for s in stems[i]), i))
    for index in ranked:
        new = (stems[index] & weight.keys()) - covered
        if new and len(chosen) < MAX_FACTS:
            chosen.append(facts[index])
            covered |= new
    return chosen


def matching_facts(sheet: PatientSheet, question: str) -> list[Fact]:
    """The facts that answer `question` (empty when the case does not say)."""
    question = untagged(question)
    if _ACKNOWLEDGEMENT.fullmatch(normalise(question)):
        return []
    measuring = is_measurement(question)
    facts = [f for f in sheet.facts if measuring or f.kind not in MEASURED_KINDS]
    text = canonical(question)
    chosen = _by_cues(text, facts, measuring)
    if chosen:
        return chosen
    if measuring:  # an order with no matching cue: only a finding may answer it, never a symptom
        return _by_overlap(question, [f for f in facts if f.kind in MEASURED_KINDS])
    complaint = Fact("symptom", sheet.chief_complaint)
    if cue_spans(text, ONSET_CUES):
        return [complaint]
    return _by_overlap(question, [complaint, *facts])


def answer(sheet: PatientSheet, question: str, seed: int) -> str:
    """The patient's reply to one doctor message."""
    facts = matching_facts(sheet, question)
    if facts:
        return " ".join(f.text for f in facts)
    return _rng(seed, question).choice(NO_RESULT if is_measurement(question) else NOT_SURE)
