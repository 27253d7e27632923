"""Diagnosis names to concepts: the bank's and the loaded cases' names over ICD-10-CM.

Used by the judge (what did the doctor name?), by the importers (which code and body
system does an imported case's diagnosis have?) and, through `concept_key`, wherever two
diagnoses are compared (splits, data filters, the bank, generated cards). How a name becomes a concept, first hit wins:
1. Names: the bank's diagnoses and aliases and the given cases', then every ICD-10-CM title
   and inclusion term, compared after `bare_key` (case, punctuation, British spelling,
   brackets, leading 'probable'/'the', abbreviations such as MI, PE, T2DM, NSTEMI expanded).
0. A bare ICD-10-CM code the code set knows exactly ('K35.80'), or an eponym alone
   ("Hashimoto's": its one known name).
2. A more specific form: qualifiers (`QUALIFIERS`: laterality, site, severity, course, extent;
   stage; an organism the code set names) removed, Roman numerals read as Arabic, or a tail
   ("... with effusion", "... due to X") cut: "right lower lobe pneumonia" is a pneumonia,
   "E. coli cystitis" a cystitis, "AKI stage 3" an AKI.
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
from grpodx.clinical.text import diagnosis_key, diagnosis_names, fold_spelling, normalise, stem

QUALIFIERS = frozenset(
    """right left bilateral unilateral sided upper lower middle lobe lobes base basal apical inferior superior
    anterior posterior lateral medial septal wall acute subacute hyperacute severe mild moderate early late
    uncomplicated complicated recurrent relapsing simple classic typical idiopathic community acquired hospital
    malignant proximal distal massive submassive small large extensive focal diffuse multifocal localised localized
    disseminated generalised generalized congestive tension critical fulminant brittle flare flares unruptured
    perforated ruptured gangrenous suppurative purulent tophaceous necrotizing necrotising erosive""".split()
)
"""Words that make a name more specific without making it another disease: laterality, site,
severity, course and extent. Sites particular to one disease come from the code set instead
(`icd10.site_words`: 'popliteal' DVT, 'saddle' PE, 'tubal' ectopic pregnancy)."""
SITES = frozenset("retrocecal retroileal pelvic subhepatic ophthalmicus".split())
"""Anatomical sites the code set does not name below their disease (after British spelling is folded)."""
_PHRASES = re.compile(
    r"\b(?:life threatening|near fatal|flare up|sub massive|acute on chronic)\b"
    r"|\b(?:stage|grade|class)\s+(?:\d{1,2}|[ivx]{1,4})[a-c]?\b"  # AKI stage 3, CKD stage IV
)
"""Qualifiers of more than one word: severity, course and stage."""
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6"}
_NUMBERED = re.compile(r"\b(type|stage|grade|class|phase)\s+(i{1,3}|iv|vi?)\b")
_CODE = re.compile(r"\s*([A-Za-z]\d{2}(?:\.[0-9A-Za-z]{1,4})?)\s*")
_POSSESSIVE = re.compile(r"^\s*([A-Za-z\u00C0-\u024F-]+)(?:'s|\u2019s|'|\u2019)\s*$")
_EPONYM_HEADS = ("disease", "syndrome")
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
        self._words: set[str] = set()
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
            self._words.update(_stems(f"{name} {key}"))

    def known_word(self, word: str) -> bool:
        """`word` is used by some known name, alias, abbreviation or ICD-10-CM title (compared by
        stem and US spelling): a clinical word, not gibberish or another language."""
        return any(s in self._words or s in icd10_words() for s in _stems(word))

    def exact(self, text: str) -> Concept | None:
        key = bare_key(text)
        if key in self._names:
            return self._names[key]
        code = self._titles.get(key)
        return Concept(icd10.description(code), code, "icd10") if code else None

    def resolve(self, text: str) -> Concept | None:
        """The concept `text` names (steps 2-4 of the module docstring), or None."""
        code = _CODE.fullmatch(text)
        if code:
            return self.code(code.group(1))
        possessive = _POSSESSIVE.match(text)
        key = bare_key(text)
        if possessive and not self.exact(key):
            return self._eponym(diagnosis_key(possessive.group(1)))
        if key not in self._cache:
            self._cache[key] = self._resolve(key)
        return self._cache[key]

    def code(self, code: str) -> Concept | None:
        """A bare ICD-10-CM code ('K35.80'), when the code set knows exactly that code."""
        code = code.upper()
        if icd10.valid(code) != code:
            return None
        return Concept(icd10.description(code), code, "code")

    def _eponym(self, eponym: str) -> Concept | None:
        """An eponym alone ("Hashimoto's", "Graves'"): its '... disease' or '... syndrome' when
        known, else the one concept every known name that starts with it has."""
        for head in _EPONYM_HEADS:
            found = self.exact(f"{eponym} {head}")
            if found:
                return found
        named = {self.exact(k) for k in self._buckets.get(eponym[:1], ()) if k.startswith(f"{eponym} ")}
        concepts = {(c.name, c.code): c for c in named if c}
        return next(iter(concepts.values())) if len(concepts) == 1 else None

    def _resolve(self, key: str) -> Concept | None:
        if not key:
            return None
        found = self.exact(key) or self.exact(arabic(key))
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


def _stems(text: str) -> set[str]:
    """Stems of the words of `text`, British '-ise' spellings also as '-ize' ('organising')."""
    words = fold_spelling(normalise(text)).split()
    return {stem(v) for w in words for v in (w, _IZE.sub(r"iz\1", w))}


_IZE = re.compile(r"is(e|ed|es|ing|ation|ations)$")


@lru_cache(maxsize=1)
def icd10_words() -> frozenset[str]:
    """The stems of every word in ICD-10-CM's titles and inclusion terms (built once a process)."""
    return frozenset(stem(w) for key in icd10.title_index() for w in key.split())


def _unspellable(key: str) -> list[str]:
    """The words no misspelling may change: numbers and one- or two-letter words tell diseases
    apart ('type 1' is not 'type 2', 'hepatitis a' is not 'hepatitis b', 'type i' not 'type ii').

    >>> _unspellable("type 1 diabetes mellitus"), _unspellable("myocardial infraction")
    (['1'], [])
    """
    return [w for w in key.split() if len(w) <= 2 or any(c.isdigit() for c in w)]


def arabic(key: str) -> str:
    """Roman numerals after type, stage, grade, class or phase as Arabic ones: 'type ii' is 'type 2'."""
    return _NUMBERED.sub(lambda m: f"{m.group(1)} {_ROMAN[m.group(2)]}", key)


def specific_forms(key: str, sites: Iterable[str] = ()) -> list[str]:
    """The name with qualifiers removed (`QUALIFIERS`, `SITES`, multi-word `_PHRASES`, organisms
    from the code set, and `sites`: words the code set uses below the truth), with a tail cut,
    and both ('' forms dropped)."""
    drop = QUALIFIERS | SITES | frozenset(sites)
    unphrased = icd10.without_organisms(_PHRASES.sub(" ", arabic(key)))  # 'acute kidney injury stage 3' keeps 'acute'
    stripped = " ".join(w for w in unphrased.split() if w not in drop)
    head = _TAIL.sub("", key)
    head_stripped = " ".join(w for w in icd10.without_organisms(_PHRASES.sub(" ", arabic(head))).split() if w not in drop)
    return [f for f in dict.fromkeys((unphrased, stripped, head, head_stripped)) if f and f != key]


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
