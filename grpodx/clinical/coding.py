"""Diagnosis names to concepts: the bank's and the loaded cases' names over ICD-10-CM.

Used by the judge (what did the doctor name?), by the importers (which code and body
system does an imported case's diagnosis have?) and, through `concept_key`, wherever two
diagnoses are compared (splits, data filters, the bank, generated cards). How a name becomes a concept, first hit wins:
1. Names: the bank's diagnoses and aliases and the given cases', then every ICD-10-CM title
   and inclusion term, compared after `bare_key` (case, punctuation, British spelling,
   brackets, leading 'probable'/'the', abbreviations such as MI, PE, T2DM, NSTEMI expanded).
2. A more specific form: qualifying words (`QUALIFIERS`: side, lobe, severity, ...) removed,
   or a tail ("... with effusion", "... due to X") cut: "right lower lobe pneumonia" is a
   pneumonia.
3. Spelling: one edit for names of 6-10 letters, two beyond (`rapidfuzz` OSA distance: a
   swap is one edit), when exactly one concept is that close and no number or one- or
   two-letter word changed ('type 1 diabetes' is no misspelling of 'type 2 diabetes').
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from grpodx.cases.bank import builtin_templates
from grpodx.cases.schema import Case, DiseaseTemplate
from grpodx.clinical import icd10
from grpodx.clinical.text import diagnosis_key, diagnosis_names

QUALIFIERS = frozenset(
    """right left bilateral unilateral upper lower middle lobe lobes base basal apical inferior superior
    anterior posterior lateral medial septal wall acute subacute hyperacute severe mild moderate early late
    uncomplicated complicated recurrent simple classic typical idiopathic community acquired hospital
    malignant proximal distal massive small large extensive focal diffuse multifocal congestive tension
    perforated ruptured gangrenous suppurative purulent tophaceous necrotizing necrotising erosive""".split()
)
"""Words that make a name more specific without making it another disease."""

_LEADING = re.compile(
    r"^(?:(?:the|a|an|final|working|clinical|most|probable|probably|likely|suspected|presumed|presumptive|"
    r"possible|diagnosis|dx|is|of|consistent with|in keeping with|i think|i believe|i suspect|this is|it is|it s|"
    r"(?:the |this )?patient has|my)\s+)+"
)
_BRACKETED = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_TAIL = re.compile(
    r"\s+(?:with|due to|secondary to|caused by|complicated by|associated with|from)\s+.*$"
    r"|\s+(?:of|on|in)\s+(?:the\s+)?(?:(?:left|right|upper|lower)\s+)?(?:back|arms?|legs?|trunk|face|neck|chest|scalp|foot|feet"
    r"|hands?|thigh|skin|shoulder|knee|hip|ankle|toe|finger|abdomen|lungs?|lower limb|upper limb)\b.*$"
)


@dataclass(frozen=True)
class Concept:
    """What a diagnosis name was resolved to."""

    name: str
    """The bank diagnosis or ICD-10-CM title it is."""
    code: str
    """ICD-10-CM code or block; '' when the name is known only by name."""
    via: str
    """How: 'name', 'icd10', 'specific' (qualifiers removed) or 'spelling'."""


def bare_key(text: str) -> str:
    """`diagnosis_key` without bracketed parts, leading articles and confidence words
    ('probable MI' -> 'myocardial infarction'; 'X (PML)' -> 'x')."""
    return _LEADING.sub("", diagnosis_key(_BRACKETED.sub(" ", text))).replace(" the ", " ")


def all_names(names: Iterable[str]) -> tuple[str, ...]:
    named = diagnosis_names(names)
    return tuple(dict.fromkeys((*named, *(a for n in named for a in re.findall(r"\(([A-Za-z0-9-]{2,10})\)", n)))))


class DiagnosisIndex:
    """Known diagnosis names -> concepts: the built-in bank, the given cases, then ICD-10-CM.

    Built from what it is given and nothing else; `DiagnosisIndex.for_cases(data.judge_cases())`
    is the judge's universe, the same in every stage and process for the same data.
    """

    def __init__(self, templates: Iterable[DiseaseTemplate] = (), cases: Iterable[Case] = ()) -> None:
        self._names: dict[str, Concept] = {}
        for t in templates:
            self._add((t.diagnosis, *t.aliases), Concept(t.diagnosis, t.icd10, "name"))
        for case in cases:
            self._add(case.names, Concept(case.diagnosis, case.icd10, "name"))
        self._titles = icd10.title_index()
        self._buckets: dict[str, list[str]] = defaultdict(list)
        for key in (*self._names, *self._titles):
            self._buckets[key[:1]].append(key)
        self._cache: dict[str, Concept | None] = {}

    @classmethod
    def for_cases(cls, cases: Iterable[Case]) -> DiagnosisIndex:
        """The built-in bank's names plus every name of `cases`."""
        return cls(builtin_templates(), cases)

    def __len__(self) -> int:
        return len(self._names)

    def _add(self, names: Iterable[str], concept: Concept) -> None:
        for name in all_names(names):  # a name already known keeps its first concept: the bank comes first
            key = bare_key(name)
            if key:
                self._names.setdefault(key, concept)

    def exact(self, text: str) -> Concept | None:
        key = bare_key(text)
        if key in self._names:
            return self._names[key]
        code = self._titles.get(key)
        return Concept(icd10.description(code), code, "icd10") if code else None

    def resolve(self, text: str) -> Concept | None:
        """The concept `text` names (steps 2-4 of the module docstring), or None."""
        key = bare_key(text)
        if key not in self._cache:
            self._cache[key] = self._resolve(key)
        return self._cache[key]

    def _resolve(self, key: str) -> Concept | None:
        if not key:
            return None
        found = self.exact(key)
        if found:
            return found
        for reduced in specific_forms(key):
            found = self.exact(reduced) or self._spelling(reduced)
            if found:
                return Concept(found.name, found.code, "specific")
        return self._spelling(key)

    def _spelling(self, key: str) -> Concept | None:
        limit = 0 if len(key) < 6 else 1 if len(key) <= 10 else 2
        if not limit:
            return None
        fixed = _unspellable(key)
        pool = [k for k in self._buckets.get(key[:1], ()) if abs(len(k) - len(key)) <= limit and _unspellable(k) == fixed]
        hits = process.extract(key, pool, scorer=OSA.distance, score_cutoff=limit, limit=8)
        if not hits:
            return None
        best = min(distance for _, distance, _ in hits)
        concepts = {self.exact(k) for k, distance, _ in hits if distance == best}
        if len({(c.name, c.code) for c in concepts if c}) != 1:
            return None  # two diseases equally close: a guess, not a spelling
        concept = next(iter(concepts))
        return Concept(concept.name, concept.code, "spelling") if concept else None


def _unspellable(key: str) -> list[str]:
    """The words no misspelling may change: numbers and one- or two-letter words tell diseases
    apart ('type 1' is not 'type 2', 'hepatitis a' is not 'hepatitis b', 'type i' not 'type ii').

    >>> _unspellable("type 1 diabetes mellitus"), _unspellable("myocardial infraction")
    (['1'], [])
    """
    return [w for w in key.split() if len(w) <= 2 or any(c.isdigit() for c in w)]


def specific_forms(key: str) -> list[str]:
    """The name with qualifiers removed, with a tail cut, and both ('' forms dropped)."""
    words = key.split()
    stripped = " ".join(w for w in words if w not in QUALIFIERS)
    head = _TAIL.sub("", key)
    head_stripped = " ".join(w for w in head.split() if w not in QUALIFIERS)
    return [f for f in dict.fromkeys((stripped, head, head_stripped)) if f and f != key]


@lru_cache(maxsize=1)
def bank_index() -> DiagnosisIndex:
    """The built-in bank's names over ICD-10-CM, for coding imported cases (package data only:
    a cache, not a registry that grows)."""
    return DiagnosisIndex(builtin_templates())


def code_diagnosis(name: str) -> tuple[str, str]:
    """(ICD-10 code, body system) for an imported diagnosis: a bank name's, else the code set's
    (chapter -> body system); ('', 'other') when nothing fits."""
    concept = bank_index().resolve(name)
    if concept is None or not concept.code:
        return "", "other"
    bank = {t.diagnosis: t.body_system for t in builtin_templates()}
    return concept.code, bank.get(concept.name) or icd10.body_system(concept.code)


def concept_key(name: str, index: DiagnosisIndex) -> str:
    """The key under which the judge counts diagnosis names as one disease: the concept `index`
    codes `name` to ('name|code'), or the bare name when it codes to none. Case splits, data
    filters, the bank and generated cards compare diagnoses by this key, so no two names the
    judge calls one disease are told apart anywhere else.

    >>> index = bank_index()
    >>> concept_key("heart attack", index) == concept_key("Myocardial infarction", index) == concept_key("MI", index)
    True
    >>> concept_key("Gout", index) == concept_key("Acute asthma", index)
    False
    """
    concept = index.resolve(name)
    return f"{concept.name}|{concept.code}" if concept else bare_key(name)
