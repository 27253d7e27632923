"""The case contract: what a case is, and the disease templates the built-in bank is written in.

A `Case` is concrete and immutable: one patient with one hidden diagnosis. A `DiseaseTemplate`
is how the built-in bank describes a disease; `grpodx.cases.variation` turns one template and a
seed into varied `Case`s (age, sex, which secondary facts, their order and wording).
"""

from __future__ import annotations

from dataclasses import dataclass, field

FACT_KINDS = ("symptom", "negative", "history", "medication", "social", "family", "exam", "test")
"""Patient-reported kinds first; `exam` and `test` are revealed only when the doctor examines or
orders them (the measurement role in AgentClinic)."""

MEASURED_KINDS = frozenset({"exam", "test"})

BODY_SYSTEMS = (
    "cardiovascular",
    "respiratory",
    "gastrointestinal",  # GI and hepatobiliary
    "neurological",
    "endocrine",  # endocrine and metabolic
    "renal",  # renal and urologic
    "infectious",
    "haematology_oncology",
    "musculoskeletal",  # musculoskeletal and rheumatology
    "dermatology",
    "psychiatry",
    "obstetrics_gynaecology",
    "paediatrics",
    "ent_ophthalmology",
    "other",  # imported cases whose system is unknown
)

SEXES = ("female", "male")


@dataclass(frozen=True)
class Fact:
    """One atomic finding about the patient."""

    kind: str
    """One of FACT_KINDS."""
    text: str
    """What the patient says (first person for reported kinds, e.g. "No, I haven't had a fever.")
    or what the examination or test shows (e.g. "ECG: ST elevation in II, III and aVF.")."""
    ask: tuple[str, ...] = ()
    """Cues in a doctor's question that this fact answers: lower-case words, word stems or
    phrases ("fever", "radiat", "blood pressure"). Empty for imported facts without cues."""
    key: bool = False
    """A key fact: one that tells this diagnosis apart from the others of its presentation
    cluster (inquiry cases). `key_fact_recall` is the share of these the patient revealed."""


@dataclass(frozen=True)
class Case:
    """One patient with one hidden diagnosis."""

    id: str
    diagnosis: str
    aliases: tuple[str, ...]
    icd10: str
    body_system: str
    age: int | None
    sex: str | None
    chief_complaint: str
    """The patient's opening words, first person."""
    facts: tuple[Fact, ...]
    options: tuple[str, ...] = ()
    """Answer options for multiple-choice mode (MediQ/MedQA style); empty otherwise."""
    source: str = "builtin"
    infant_age: str = ""
    """A baby's age as the source gave it ('8 months', '3 weeks', '2 days'); '' otherwise
    (`age` is whole years, 0 for a baby)."""
    cluster: str = ""
    """The presentation cluster the case belongs to (inquiry cases: every diagnosis of a cluster
    opens with the same complaint); '' for sources without clusters."""

    @property
    def demographics(self) -> str:
        """'54-year-old woman', '7-year-old boy', '8-month-old baby boy', '2-day-old newborn girl',
        or '' when unknown."""
        if self.infant_age:
            number, unit = self.infant_age.split()
            baby = "newborn" if unit.startswith(("day", "week")) and int(number) <= 4 or unit.startswith("day") else "baby"
            noun = {"female": f"{baby} girl", "male": f"{baby} boy"}.get(self.sex or "", baby)
            return f"{number}-{unit.rstrip('s')}-old {noun}"
        if self.age is None and self.sex is None:
            return ""
        child = self.age is not None and self.age < 18
        noun = {"female": "girl" if child else "woman", "male": "boy" if child else "man"}.get(self.sex or "", "patient")
        return f"{self.age}-year-old {noun}" if self.age is not None else noun

    @property
    def names(self) -> tuple[str, ...]:
        """The diagnosis and all its aliases: every string that counts as this diagnosis."""
        return (self.diagnosis, *self.aliases)

    def facts_of(self, *kinds: str) -> tuple[Fact, ...]:
        return tuple(f for f in self.facts if f.kind in kinds)


@dataclass(frozen=True)
class TemplateFact:
    """A fact in a disease template, with wording variants."""

    kind: str
    text: tuple[str, ...]
    """One or more phrasings of the same fact; a case uses one of them."""
    ask: tuple[str, ...] = ()
    core: bool = False
    """Core facts appear in every case of the disease; the others are sampled."""
    key: bool = False
    """Carried to `Fact.key`; a key fact is always core."""


@dataclass(frozen=True)
class DiseaseTemplate:
    """How the built-in bank describes one disease (one JSON object a line in cases/bank/)."""

    diagnosis: str
    aliases: tuple[str, ...]
    icd10: str
    body_system: str
    age: tuple[int, int]
    """Plausible age range, inclusive."""
    sex: str
    """'female', 'male' or 'any'."""
    chief_complaint: tuple[str, ...]
    facts: tuple[TemplateFact, ...] = field(default=())
