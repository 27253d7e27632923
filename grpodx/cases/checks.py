"""Content checks beyond the schema: does a case give its diagnosis away, is it complete."""

from __future__ import annotations

import re

from grpodx.cases.schema import Case

NEEDED_KINDS = ("negative", "exam", "test")
"""Kinds a case should have so that a diagnosis must be earned by asking, examining and testing."""


def names_pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    """Any of `names` as whole words, any case."""
    return re.compile("|".join(rf"\b{re.escape(n)}\b" for n in names), re.IGNORECASE)


def name_leaks(case: Case) -> list[str]:
    """Where the chief complaint or a fact says the diagnosis or an alias: ["facts[3]: 'asthma'", ...]."""
    pattern = names_pattern(case.names)
    texts = [("chief_complaint", case.chief_complaint), *((f"facts[{i}]", f.text) for i, f in enumerate(case.facts))]
    return [f"{field}: {match.group(0)!r}" for field, text in texts if (match := pattern.search(text))]


def missing_kinds(case: Case) -> list[str]:
    present = {f.kind for f in case.facts}
    return [kind for kind in NEEDED_KINDS if kind not in present]
