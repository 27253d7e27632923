"""The rubric judge: one diagnosis, coded against ICD-10-CM, credited by the code hierarchy.

    same concept (a name or alias, or a more specific code)   1.0
    same ICD-10-CM category (I21.4 vs I21.9)                  0.5
    same block (I21 vs I25: ischaemic heart diseases)         0.3
    same chapter (I21 vs I50: circulatory system)             0.1
    anything else, a hedge, or nothing                        0.0

Why this shape: credit should fall with clinical distance, and the code set is a maintained,
published measure of it. A category holds variants of one disease (0.5: half right), a block
holds diseases a clinician would weigh together (0.3), a chapter only the organ system (0.1:
enough to break ties between wrong answers, too little to be worth aiming for; a correct
answer is always worth ten times a same-chapter one, so hedging toward broad terms never pays).

A candidate first passes the gate (`hedges.hedge`): a hedge, a negation or a past diagnosis
earns 0. It is then coded by the `DiagnosisIndex` (`grpodx.clinical.coding`: names, abbreviations,
ICD-10-CM titles, more specific forms, spelling). A concept is the truth when it is a truth name, the same bank diagnosis, or its code lies
within the truth's code (an 'unspecified' truth code stands for its parent, so NSTEMI is an
acute myocardial infarction). A more general answer ('diabetes' for type 2 diabetes) is never
within the truth: it gets the level it shares. An empty code shares nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from grpodx.clinical import icd10
from grpodx.clinical.coding import Concept, DiagnosisIndex, all_names, arabic, bare_key, specific_forms

__all__ = ["EXACT", "LEVEL_CREDIT", "Concept", "DiagnosisIndex", "Truth", "grade", "judge_grade", "rank", "truth_of"]
from grpodx.cases.schema import Case
from grpodx.clinical.hedges import BRACKETED, hedge

EXACT = 1.0
LEVEL_CREDIT = {"category": 0.5, "block": 0.3, "chapter": 0.1}


@dataclass(frozen=True)
class Truth:
    """What the judge is told about the right answer."""

    diagnosis: str
    aliases: tuple[str, ...]
    icd10: str
    body_system: str

    @property
    def names(self) -> tuple[str, ...]:
        """Every name that is this diagnosis, with '(PML)'-style short forms as names of their own."""
        return all_names((self.diagnosis, *self.aliases))

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(c for c in (c.strip() for c in self.icd10.split(",")) if c)


def truth_of(case: Case, index: DiagnosisIndex) -> Truth:
    """The case's truth, coded from its name when the case has no code."""
    code = case.icd10
    if not code:
        concept = index.resolve(case.diagnosis)
        code = concept.code if concept else ""
    return Truth(case.diagnosis, case.aliases, code, case.body_system)


def gate(candidate: str, index: DiagnosisIndex, names: Iterable[str] = ()) -> str | None:
    """Why `candidate` is not one diagnosis, or None: the one gate every backend applies.

    `hedges.hedge` with parts coded by `index`, then a bracket naming another disease. `names`
    are the truth's names, known as written even to an index built without its case (the
    embedded rubric provider grades requests with the bank's index alone).
    """
    known = {bare_key(n) for n in names}

    def resolves(part: str) -> str | None:
        concept = index.resolve(part)
        return f"{concept.name}|{concept.code}" if concept else None

    def exact(text: str) -> bool:
        return bare_key(text) in known or index.exact(text) is not None

    return hedge(candidate, resolves, exact) or _bracketed_other(candidate, index)


def _bracketed_other(candidate: str, index: DiagnosisIndex) -> str | None:
    """A bracket naming another disease ('Appendicitis (possible gout)') makes two diagnoses; an
    abbreviation or a variant of the same category ('MI (NSTEMI)', 'X (PML)') does not."""
    inner = [b for b in BRACKETED.findall(candidate) if b.strip()]
    main = index.resolve(candidate) if inner else None  # resolving drops the brackets (`bare_key`)
    for part in inner:
        other = index.resolve(part)
        if main and other and other.name != main.name and icd10.shared_level(other.code, main.code) != "category":
            return f"names another diagnosis in brackets ({part!r})"
    return None


def same_concept(truth: Truth, candidate: str, concept: Concept | None) -> bool:
    """The candidate names the truth: a truth name, the same bank diagnosis, a code within the
    truth's code, or (only when the candidate is no other known name) a truth name made more
    specific by qualifiers ('right lower lobe pneumonia', 'left popliteal DVT', 'AKI stage 3')."""
    keys = {arabic(bare_key(n)) for n in truth.names}
    key = arabic(bare_key(candidate))
    if key in keys:
        return True
    own = [bare_key(truth.diagnosis), *specific_forms(bare_key(truth.diagnosis))]
    roots = [icd10.concept_root(c, own) for c in truth.codes]
    if concept is not None and concept.via == "code":  # a bare code: within the truth's, or not the truth
        return any(icd10.is_within(concept.code, r) for r in roots)
    if concept is None or concept.via == "specific":
        # the code set's sites below the truth, less the words of its name ('deep' of deep vein thrombosis)
        sites = frozenset().union(*(icd10.site_words(c) for c in truth.codes)) - set(bare_key(truth.diagnosis).split())
        if any(form in keys for form in specific_forms(key, sites)):
            return True
    if concept is None:
        return False
    if bare_key(concept.name) in keys:
        return True
    if concept.via != "name" and icd10.is_unspecified(concept.code):
        # The code set's general term ('angina': I20.9, unspecified) is the truth only when the
        # truth is named so too ('Malignant melanoma' is C43.9's melanoma; 'Stable angina
        # pectoris', coded I20.9 by the bank, is more than 'angina').
        return bool(set(own) & icd10.keys_of(concept.code))
    return bool(concept.code) and "-" not in concept.code and any(icd10.is_within(concept.code, r) for r in roots)


def grade(truth: Truth, candidate: str, concept: Concept | None, refusal: str | None) -> tuple[float, str]:
    """Credit in 0..1 and a one-line rationale, from the gate's refusal and the resolved concept.

    grade(ami, "NSTEMI", Concept("Non-ST elevation ... infarction", "I21.4", "icd10"), None)[0] == 1.0
    """
    if refusal:
        return 0.0, f"{candidate!r} {refusal}: one diagnosis or nothing"
    if same_concept(truth, candidate, concept):
        return EXACT, f"{candidate!r} names the diagnosis ({truth.diagnosis})"
    if concept is None or not concept.code:
        return 0.0, f"{candidate!r} is not the diagnosis and has no ICD-10-CM code to compare"
    for level in ("category", "block", "chapter"):
        if any(icd10.shared_level(concept.code, c) in _AT_LEAST[level] for c in truth.codes):
            return LEVEL_CREDIT[level], f"{concept.name} ({concept.code}) shares the ICD-10-CM {level} of {truth.diagnosis} ({truth.icd10})"
    return 0.0, f"{concept.name} ({concept.code}) is unrelated to {truth.diagnosis} ({truth.icd10 or 'no code'})"


_AT_LEAST = {"category": {"category"}, "block": {"category", "block"}, "chapter": {"category", "block", "chapter"}}


def judge_grade(truth: Truth, candidate: str, index: DiagnosisIndex) -> tuple[float, str, Concept | None]:
    """`grade` with the gate and the coding done by `index`."""
    refusal = gate(candidate, index, truth.names) if candidate.strip() else "is empty"
    concept = None if refusal else index.resolve(candidate)
    credit, rationale = grade(truth, candidate, concept, refusal)
    return credit, rationale, concept


def rank(truth: Truth, diagnosis: str, differential: Iterable[str], index: DiagnosisIndex) -> int | None:
    """1 when the final diagnosis is right, k when differential item k-1 is (each item passes
    the same gate on its own), else None."""
    for position, item in enumerate((diagnosis, *differential), start=1):
        if item.strip() and judge_grade(truth, item, index)[0] >= EXACT:
            return position
    return None
