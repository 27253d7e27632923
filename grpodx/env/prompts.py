"""What patient and judge models are sent, and how the judge's answer is read back.

One message format serves every backend: the embedded providers read the same structured
blocks an LLM reads, so swapping `grpodx/scripted-patient` for `openai/gpt-4o-mini` changes
nothing but the model string. The patient's sheet has no diagnosis in it; the judge's request
has the truth and the doctor's extracted answer, never the transcript.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from grpodx.env.rubric import Concept, Truth
from grpodx.env.scripted import PatientSheet
from grpodx.types import PATIENT_CHAT_ROLE, Message

OPENING_PROMPT = "Hello, I'm the doctor. What brings you in today?"
"""The doctor's implicit first line: the patient's opening is its answer."""

SHEET_MARKER = "Patient sheet (JSON):"
GRADE_MARKER = "Grading request (JSON):"

PATIENT_SYSTEM = """You are role-playing a patient talking to a doctor. Stay in character.
- Answer only the doctor's last message, briefly (one to three sentences), in the first person
  and in plain words.
- Use only the facts in the sheet below. If the doctor asks about something the sheet does not
  mention, say you're not sure. If a fact says no, say no.
- Facts of kind "exam" and "test" are findings, not things you know: state one only when the
  doctor examines you or orders that test, and then give it exactly as written.
- Never name or guess a diagnosis, even when asked.
- Your first message: greet the doctor, say your age and sex ("demographics"), then the
  "chief_complaint".
"""

JUDGE_SYSTEM = """You grade a doctor's final diagnosis against the true diagnosis.
One diagnosis or nothing: a final diagnosis that hedges between diagnoses ("X or Y", "X vs Y",
"X?", "rule out X", a list), negates one ("not X", "X ruled out") or names a past one
("history of X", "old X") scores 0.0.
Rubric for "score" (ICD-10-CM hierarchy; "final_diagnosis_coding" is the code-set coding of
the answer, when one was found):
- 1.0: the same disease: its name, an alias, an unambiguous synonym or misspelling, or a more
  specific form of it (NSTEMI for acute myocardial infarction).
- 0.5: a different disease of the same ICD-10 category (first three characters), or a less
  specific name of the true disease at that level.
- 0.3: a disease of the same ICD-10 block (a range such as I20-I25).
- 0.1: a disease of the same ICD-10 chapter.
- 0.0: unrelated, or no diagnosis given.
Grade the final diagnosis only; the differential is context, it earns no credit.
Reply with JSON only: {"score": <number from 0 to 1>, "rationale": "<one sentence>"}"""

PROCESS_SYSTEM = """You rate how well a doctor conducted a diagnostic interview (not whether the
final diagnosis is right): are the questions relevant, specific and non-redundant, are
examinations and tests ordered when they help, does the reasoning follow from the answers?
Reply with JSON only: {"score": <number from 0 to 1>, "rationale": "<one sentence>"}"""


class UnparseableScore(ValueError):
    """The judge model's reply holds no score."""


def _fenced(label: str, payload: str) -> str:
    return f"{label}\n```json\n{payload}\n```"


def extract_block(text: str, marker: str) -> str:
    """The fenced JSON following `marker` in `text`; ValueError when there is none."""
    match = re.search(re.escape(marker) + r"\s*```(?:json)?\s*(.*?)```", text, re.DOTALL)
    if match is None:
        raise ValueError(f"no {marker!r} block in the message")
    return match.group(1).strip()


def patient_messages(sheet: PatientSheet, dialogue: list[Message]) -> list[dict[str, str]]:
    """System prompt with the sheet, then the dialogue as user (doctor) / assistant (patient)."""
    messages = [{"role": "system", "content": PATIENT_SYSTEM + "\n" + _fenced(SHEET_MARKER, sheet.to_json())}]
    if not dialogue or dialogue[0].get("role") != "doctor":
        messages.append({"role": "user", "content": OPENING_PROMPT})
    for position, message in enumerate(dialogue):
        role = PATIENT_CHAT_ROLE.get(message.get("role", ""))
        if role is None:
            raise ValueError(f"dialogue[{position}]: role must be 'doctor' or 'patient', got {message.get('role')!r}")
        messages.append({"role": role, "content": str(message.get("content", ""))})
    if messages[-1]["role"] != "user":
        raise ValueError("dialogue must end with a doctor message for the patient to answer")
    return messages


def judge_messages(truth: Truth, diagnosis: str, differential: list[str], coding: Concept | None = None) -> list[dict[str, str]]:
    """The grading request; `coding` is the judge's ICD-10-CM coding of the final diagnosis."""
    request = {
        "true_diagnosis": truth.diagnosis,
        "aliases": list(truth.aliases),
        "icd10": truth.icd10,
        "body_system": truth.body_system,
        "final_diagnosis": diagnosis,
        "final_diagnosis_coding": None if coding is None else {"name": coding.name, "icd10": coding.code, "via": coding.via},
        "differential": list(differential),
    }
    return [
        {"role": "system", "content": JUDGE_SYSTEM},
        {"role": "user", "content": _fenced(GRADE_MARKER, json.dumps(request))},
    ]


def read_grade_request(messages: list[dict[str, Any]]) -> tuple[Truth, str, list[str], Concept | None]:
    """Inverse of `judge_messages`, for the embedded rubric provider."""
    raw = json.loads(extract_block(str(messages[-1].get("content", "")), GRADE_MARKER))
    truth = Truth(raw["true_diagnosis"], tuple(raw.get("aliases", ())), raw["icd10"], raw["body_system"])
    coding = raw.get("final_diagnosis_coding")
    concept = Concept(str(coding["name"]), str(coding["icd10"]), str(coding["via"])) if isinstance(coding, dict) else None
    return truth, str(raw.get("final_diagnosis", "")), [str(d) for d in raw.get("differential", [])], concept


def process_messages(dialogue: list[Message]) -> list[dict[str, str]]:
    transcript = "\n".join(f"{m.get('role', '?').capitalize()}: {m.get('content', '')}" for m in dialogue)
    return [{"role": "system", "content": PROCESS_SYSTEM}, {"role": "user", "content": transcript}]


_NUMBER = r"(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(?:\s*/\s*(\d+(?:\.\d+)?))?"
"""A score with an optional exponent and 'out of' ('8/10' is 0.8): '1e309' is read whole (and
refused), not as a 1."""
_SCORE_LINE = re.compile(r"\bscore\b[\s\"']*[:=]\s*[\"']?" + _NUMBER, re.IGNORECASE)
_BARE_NUMBER = re.compile(r"\s*" + _NUMBER + r"\s*")


def _json_objects(text: str) -> list[Any]:
    fenced = re.findall(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    candidates = [*fenced, text, *re.findall(r"\{.*\}", text, re.DOTALL)]
    objects = []
    for candidate in candidates:
        try:
            objects.append(json.loads(candidate))
        except (json.JSONDecodeError, TypeError):
            continue
    return objects


def parse_score(text: str) -> tuple[float, str]:
    """(score in 0..1, rationale) from JSON, fenced JSON, 'Score: 0.7', 'Score: 8/10' or a bare number.

    A number at the start of a list item ("1. Pneumonia is ...") is not a score. A score outside
    0..1 (7, -2, 1e309, 11/10) is malformed, never clamped: clamping made a confused judge's 7
    full credit.
    """
    for obj in _json_objects(text):
        if isinstance(obj, dict) and "score" in obj:
            return _score_of(obj["score"]), str(obj.get("rationale", ""))
    match = _SCORE_LINE.search(text) or _BARE_NUMBER.fullmatch(text)
    if match is None:
        raise UnparseableScore(f"no score in judge reply {text[:200]!r}")
    rationale = text[match.end() :].strip(" \n.;-") if match.re is _SCORE_LINE else ""
    return _in_range(float(match.group(1)), match.group(2)), rationale


def _score_of(value: Any) -> float:
    """A JSON score: a number, or a string such as '0.8' or '8/10'."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise UnparseableScore(f"judge score {value!r} is not a number")
    match = _BARE_NUMBER.fullmatch(value) if isinstance(value, str) else None
    if isinstance(value, str) and match is None:
        raise UnparseableScore(f"judge score {value[:50]!r} is not a number")
    return _in_range(float(match.group(1)), match.group(2)) if match else _in_range(float(value), None)


def _in_range(score: float, out_of: str | None) -> float:
    """`score` (over `out_of` when given) if it lies in 0..1; else the reply is malformed."""
    if out_of is not None:
        if float(out_of) <= 0:
            raise UnparseableScore(f"judge score {score}/{out_of} has no scale")
        score /= float(out_of)
    if not math.isfinite(score) or not 0.0 <= score <= 1.0:
        raise UnparseableScore(f"judge score {score} is outside 0..1")
    return score
