"""Heuristics the importers share: ask cues, fact kinds, sentences, demographics.

The scripted patient matches a doctor's question to facts by their `ask` cues and text, so
imported facts get cues too: the stems of their content words in `grpodx.clinical.text.canonical`
form (the one stemmer and term map the patient uses), so that a question's inflections and
abbreviations still match ("smoking" -> "smok" meets "smoker"; "ECG" meets "electrocardiogram").
"""

from __future__ import annotations

import re

from grpodx.clinical.text import IMPORT_STOPWORDS, canonical, stem

NEGATION = re.compile(r"\b(no|not|denies|denied|denying|without|absent|negative for|never|none)\b", re.I)

# Checked in order: the first matching kind wins. Tests and exams first, because a sentence like
# "biopsy showed no fungal elements" is a test result even though it contains a negation.
KIND_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "test",
        re.compile(
            r"\b(biops|culture|koh|histolog|patholog|serolog|laborator|labs?\b|blood tests?|pcr|x-ray|radiograph|mri|ct scan|ultrasound|dermoscop|scraping|smear|titer|titre|level|count|stain)",
            re.I,
        ),
    ),
    (
        "exam",
        re.compile(
            r"\b(examination|on exam|palpat|auscultat|inspection|vital signs|temperature of|blood pressure|pulse|lymph nodes?|identified|observed|were present|is present|are present|reveal)",
            re.I,
        ),
    ),
    ("family", re.compile(r"\b(family|mother|father|sister|brother|sibling|parent|grandm|grandf|aunt|uncle)", re.I)),
    ("medication", re.compile(r"\b(medication|take|takes|taking|prescri|treated with|uses? (a |an )?(cream|ointment|drug)|tablets?|pills?)\b", re.I)),
    (
        "social",
        re.compile(
            r"\b(smok|tobacco|alcohol|drinks|drug use|occupation|works? as|student|travel|sexual|partner|lives?\b|live in|work in|married|diet|exercise|year-old|years old)",
            re.I,
        ),
    ),
    ("history", re.compile(r"\b(history of|past medical|diagnosed with|previous|previously|prior|surgery|chronic)", re.I)),
)


def keywords(text: str, limit: int = 6) -> tuple[str, ...]:
    """Distinct content-word stems of `text`, in order, at most `limit`."""
    cues: list[str] = []
    for word in re.findall(r"[a-z][a-z0-9]+", canonical(text)):
        if len(word) < 3 or word in IMPORT_STOPWORDS:
            continue
        cue = stem(word)
        if cue not in cues:
            cues.append(cue)
    return tuple(cues[:limit])


def classify(text: str, default: str = "symptom", *, reported_only: bool = False) -> str:
    """A fact kind for a free-text finding; negated reported findings are `negative`.

    `reported_only` never answers exam or test: for sources where everything is the patient's
    own answer (DDXPlus asks "Do you have high blood pressure?", which is history, not an exam).
    """
    for kind, pattern in KIND_PATTERNS:
        if reported_only and kind in ("exam", "test"):
            continue
        if pattern.search(text):
            return kind
    return "negative" if NEGATION.search(text) and default in ("symptom", "history") else default


def sentences(text: str) -> list[str]:
    """Split prose into sentences, each ending in a full stop."""
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9])", text.strip())
    return [p if p[-1] in ".!?" else p + "." for p in (p.strip() for p in parts) if p]


def humanise(key: str) -> str:
    """'Blood_Pressure' -> 'blood pressure'."""
    return re.sub(r"[_\s]+", " ", key).strip().lower()


def parse_age(text: str) -> int | None:
    """'22 years', '30-year-old', '15 months' (-> 1), '3 days' (-> 0); None when no age is given."""
    match = re.search(r"(\d+)\s*[- ]?\s*(year|yr|month|week|day)", text, re.I)
    if not match:
        bare = re.search(r"\bage\D{0,3}(\d{1,3})\b", text, re.I)  # "Age: 45"
        return int(bare.group(1)) if bare else None
    number, unit = int(match.group(1)), match.group(2).lower()
    return number if unit in ("year", "yr") else number // 12 if unit == "month" else 0


def parse_infant_age(text: str) -> str:
    """'8-month-old' -> '8 months', '3 weeks' -> '3 weeks', 'newborn' -> '1 day'; '' from two years up."""
    match = re.search(r"(\d+)\s*[- ]?\s*(year|yr|month|week|day)s?\b", text, re.I)  # the first age is the patient's
    if match and match.group(2).lower() not in ("year", "yr"):
        number, unit = int(match.group(1)), match.group(2).lower()
        if unit != "month" or number < 24:
            return f"{number} {unit}{'s' if number != 1 else ''}"
    return "1 day" if re.search(r"\b(newborn|neonate)\b", text, re.I) and not match else ""


def parse_sex(text: str) -> str | None:
    """The first sex word wins: '2-day-old boy born to a 30-year-old woman' is a boy."""
    match = re.search(r"\b(female|woman|girl|lady|she|daughter|male|man|boy|gentleman|he|son)\b", text, re.I)
    if match is None:
        return None
    return "female" if match.group(1).lower() in ("female", "woman", "girl", "lady", "she", "daughter") else "male"
