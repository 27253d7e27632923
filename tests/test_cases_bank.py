"""The built-in bank's content rules: size and spread, facts of the needed kinds, no complaint or fact naming the diagnosis."""

import re
from collections import Counter, defaultdict

import pytest

from grpodx.cases.bank import MIN_FACTS, builtin_templates
from grpodx.cases.errors import CaseError
from grpodx.cases.fields import normalise_icd10
from grpodx.cases.variation import instantiate

BANK = builtin_templates()
REQUIRED_KINDS = {"negative", "exam", "test"}


def names(template):
    return (template.diagnosis, *template.aliases)


def test_bank_has_150_diagnoses_over_12_body_systems():
    systems = Counter(t.body_system for t in BANK if t.body_system != "other")
    assert len(BANK) >= 150, f"{len(BANK)} diagnoses: {dict(systems)}"
    assert len(systems) >= 12, f"{len(systems)} body systems: {dict(systems)}"


def test_every_template_has_enough_facts_of_the_needed_kinds():
    problems = [
        f"{t.diagnosis}: {len(t.facts)} facts, missing {sorted(REQUIRED_KINDS - {f.kind for f in t.facts})}"
        for t in BANK
        if len(t.facts) < MIN_FACTS or not REQUIRED_KINDS <= {f.kind for f in t.facts}
    ]
    assert not problems, "\n".join(problems)


def test_no_complaint_or_fact_names_the_diagnosis():
    problems = []
    for t in BANK:
        pattern = re.compile("|".join(rf"\b{re.escape(n)}\b" for n in names(t)), re.IGNORECASE)
        texts = [*t.chief_complaint, *(text for f in t.facts for text in f.text)]
        problems += [f"{t.diagnosis}: {pattern.search(x).group(0)!r} in {x!r}" for x in texts if pattern.search(x)]
    assert not problems, "\n".join(problems)


def test_icd10_codes_are_well_formed():
    problems = []
    for t in BANK:
        try:
            normalise_icd10(t.icd10, t.diagnosis)
        except CaseError as error:
            problems.append(str(error))
    assert not problems, "\n".join(problems)


def test_no_duplicate_diagnosis_or_clashing_alias():
    owners = defaultdict(set)
    for t in BANK:
        for name in names(t):
            owners[name.lower()].add(t.diagnosis)
    clashes = [f"{name!r} names {sorted(diagnoses)}" for name, diagnoses in owners.items() if len(diagnoses) > 1]
    duplicates = [d for d, n in Counter(t.diagnosis.lower() for t in BANK).items() if n > 1]
    assert not clashes and not duplicates, "\n".join(clashes + duplicates)


@pytest.mark.parametrize("seed", [0, 1])
def test_every_template_instantiates(seed):
    cases = [instantiate(t, seed) for t in BANK]
    assert len({c.id for c in cases}) == len(BANK)
    assert all(t.age[0] <= c.age <= t.age[1] and len(c.facts) >= sum(f.core for f in t.facts) for t, c in zip(BANK, cases))
