"""The rubric judge: partial credit for a diagnosis by name, ICD-10 category and body system.

    exact name or alias (normalised)              1.0
    same ICD-10 category (first 3 characters)     0.5
    same body system                              0.2
    anything else, or nothing                     0.0

Names are compared after `name_key`: case, accents, punctuation and possessive 's ignored,
British spellings folded to American (haem/hem, oe/e), a leading article or "acute" dropped.
A candidate also matches a name when it only adds up to `MAX_QUALIFIERS` words to it
("inferior STEMI" is a STEMI), carries no negation ("no STEMI" is not) and is not itself
another known disease ("heat stroke" is not a "stroke"). Anything looser is
left at the category or system level: partial credit for a near miss must be earned through the
index of known diagnoses, not guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from grpodx.cases.schema import Case, DiseaseTemplate
from grpodx.env.text import normalise

EXACT, CATEGORY, SYSTEM = 1.0, 0.5, 0.2
MAX_QUALIFIERS = 2
_LEADING = ("the ", "a ", "an ", "acute ", "probable ", "likely ", "suspected ", "possible ")
_NEGATIONS = frozenset({"no", "not", "without", "excluded", "unlikely", "ruled", "negative"})
_SPELLING = ((re.compile(r"ae"), "e"), (re.compile(r"oe"), "e"))  # haem/hem, oedema/edema


def name_key(name: str) -> str:
    """The form two diagnosis names are compared in ('Acute Crohn's disease' -> 'crohn disease')."""
    key = normalise(name)
    for pattern, replacement in _SPELLING:
        key = pattern.sub(replacement, key)
    stripped = True
    while stripped:
        stripped = False
        for prefix in _LEADING:
            if key.startswith(prefix) and len(key) > len(prefix):
                key, stripped = key[len(prefix):], True
    return key


def name_matches(candidate: str, names: Iterable[str]) -> bool:
    """Whether `candidate` is one of `names`, exactly or with a few qualifying words added."""
    key = name_key(candidate)
    words = set(key.split())
    for name in names:
        target = name_key(name)
        if not target or not key:
            continue
        if key == target:
            return True
        extra = words - set(target.split())
        if set(target.split()) <= words and len(extra) <= MAX_QUALIFIERS and not extra & _NEGATIONS:
            return True
    return False


@dataclass(frozen=True)
class KnownDiagnosis:
    diagnosis: str
    icd10: str
    body_system: str


class DiagnosisIndex:
    """Known diagnosis names (and aliases) -> their ICD-10 code and body system."""

    def __init__(self) -> None:
        self._by_key: dict[str, KnownDiagnosis] = {}

    def __len__(self) -> int:
        return len(self._by_key)

    def add(self, names: Iterable[str], icd10: str, body_system: str, diagnosis: str) -> None:
        """Register every name of one diagnosis; a name already known keeps its first entry."""
        entry = KnownDiagnosis(diagnosis, icd10.strip().upper(), body_system)
        for name in names:
            key = name_key(name)
            if key:
                self._by_key.setdefault(key, entry)

    def add_templates(self, templates: Iterable[DiseaseTemplate]) -> None:
        for t in templates:
            self.add((t.diagnosis, *t.aliases), t.icd10, t.body_system, t.diagnosis)

    def add_cases(self, cases: Iterable[Case]) -> None:
        for case in cases:
            self.add(case.names, case.icd10, case.body_system, case.diagnosis)

    def exact(self, candidate: str) -> KnownDiagnosis | None:
        return self._by_key.get(name_key(candidate))

    def lookup(self, candidate: str) -> KnownDiagnosis | None:
        """Exact key first, else the most specific known name the candidate qualifies."""
        key = name_key(candidate)
        if not key:
            return None
        if key in self._by_key:
            return self._by_key[key]
        matches = [k for k in self._by_key if name_matches(candidate, [k])]
        return self._by_key[max(matches, key=lambda k: (len(k.split()), len(k)))] if matches else None


@dataclass(frozen=True)
class Truth:
    """What the judge is told about the right answer."""

    diagnosis: str
    aliases: tuple[str, ...]
    icd10: str
    body_system: str

    @classmethod
    def from_case(cls, case: Case) -> Truth:
        return cls(case.diagnosis, case.aliases, case.icd10, case.body_system)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.diagnosis, *self.aliases)


def is_truth(candidate: str, truth: Truth, index: DiagnosisIndex) -> bool:
    """The candidate names the truth. A candidate that is exactly another known disease never
    does, even when it merely qualifies a truth name ("heat stroke" is not a "stroke")."""
    key = name_key(candidate)
    if key and key in {name_key(n) for n in truth.names}:
        return True
    known = index.exact(candidate)
    if known is not None and name_key(known.diagnosis) != name_key(truth.diagnosis):
        return False
    return name_matches(candidate, truth.names)


def grade(truth: Truth, candidate: str, index: DiagnosisIndex) -> tuple[float, str]:
    """Credit in 0..1 for one candidate diagnosis, with a one-line rationale."""
    if not candidate.strip():
        return 0.0, "no diagnosis given"
    if is_truth(candidate, truth, index):
        return EXACT, f"{candidate!r} names the diagnosis ({truth.diagnosis})"
    known = index.lookup(candidate)
    if known is None:
        return 0.0, f"{candidate!r} is not the diagnosis and is not a known diagnosis"
    if name_key(known.diagnosis) == name_key(truth.diagnosis):
        return EXACT, f"{candidate!r} is another name of {truth.diagnosis}"
    if known.icd10[:3] == truth.icd10.strip().upper()[:3]:
        return CATEGORY, f"{known.diagnosis} shares ICD-10 category {known.icd10[:3]} with {truth.diagnosis}"
    if known.body_system == truth.body_system:
        return SYSTEM, f"{known.diagnosis} is in the same body system ({truth.body_system})"
    return 0.0, f"{known.diagnosis} ({known.icd10}, {known.body_system}) is unrelated to the diagnosis"


def rank(truth: Truth, diagnosis: str, differential: Iterable[str], index: DiagnosisIndex) -> int | None:
    """1 when the final diagnosis is right, k when the truth is differential item k-1, else None."""
    if is_truth(diagnosis, truth, index):
        return 1
    for position, item in enumerate(differential, start=2):
        if is_truth(item, truth, index):
            return position
    return None
