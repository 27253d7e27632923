"""Content checks beyond the schema: does a case give its diagnosis away, is it complete."""

from __future__ import annotations

from grpodx.cases.schema import Case
from grpodx.clinical.text import mentions_in

NEEDED_KINDS = ("negative", "exam", "test")
"""Kinds a case should have so that a diagnosis must be earned by asking, examining and testing."""


def leak_terms(case: Case) -> tuple[str, ...]:
    """What the leak guard looks for: the diagnosis, its aliases and its ICD-10 codes (each also
    found as a short form, a code of its category, or spelled out or in digits)."""
    return (*case.names, *(c.strip() for c in case.icd10.split(",") if c.strip()))


def name_leaks(case: Case) -> list[str]:
    """Where the chief complaint or a fact gives the diagnosis away (the leak guard's own
    matching, `grpodx.clinical.text.mentions_in` over `leak_terms`): ["facts[3]: 'asthma'", ...]."""
    texts = [("chief_complaint", case.chief_complaint), *((f"facts[{i}]", f.text) for i, f in enumerate(case.facts))]
    return [f"{field}: {', '.join(map(repr, found))}" for field, text in texts if (found := mentions_in(text, leak_terms(case)))]


def missing_kinds(case: Case) -> list[str]:
    present = {f.kind for f in case.facts}
    return [kind for kind in NEEDED_KINDS if kind not in present]
