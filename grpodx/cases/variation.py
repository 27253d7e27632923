"""Procedural variation: one disease template and a seed give one concrete, varied `Case`.

Varied: age within the template's range, sex (when the template says "any"), the chief-complaint
phrasing, which secondary facts appear (at least half of them), the order of all facts, and the
wording of each. Core facts appear in every case, and so does at least one negative, exam and
test fact when the template has one, so no case can be solved without asking, examining and testing. The same template and seed always give the
same case: the generator is a private `random.Random`, seeded by the diagnosis and the seed, so
neither global random state nor the order templates are visited in changes anything.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata

from grpodx.cases.checks import NEEDED_KINDS
from grpodx.cases.schema import SEXES, Case, DiseaseTemplate, Fact


def slug(text: str) -> str:
    """'Crohn's disease (ileal)' -> 'crohn-s-disease-ileal'; 'Guillain-Barré' -> 'guillain-barre'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def case_id(template: DiseaseTemplate, seed: int, source: str = "builtin") -> str:
    return f"{source}/{slug(template.diagnosis)}/{seed}"


def instantiate(template: DiseaseTemplate, seed: int, *, source: str = "builtin", all_facts: bool = False, cluster: str = "") -> Case:
    """One case of `template`; deterministic in (template.diagnosis, seed).

    `all_facts` keeps every fact in template order (still varying age, sex and wording): the
    canonical case of an imported disease. `source` names the case's origin and id prefix;
    `cluster` the presentation cluster it belongs to ('' for none).
    """
    # A string seed is hashed with SHA-512 by `random`, so it is stable across processes.
    rng = random.Random(f"{template.diagnosis}\x00{seed}")
    age = rng.randint(*template.age)
    sex = rng.choice(SEXES) if template.sex == "any" else template.sex
    complaint = rng.choice(template.chief_complaint)
    core = [f for f in template.facts if f.core]
    others = [f for f in template.facts if not f.core]
    keep = rng.randint(math.ceil(len(others) / 2), len(others)) if others else 0
    chosen = core + rng.sample(others, keep)
    for kind in NEEDED_KINDS:  # a diagnosis is earned by asking, examining and testing: keep one of each
        left_out = [f for f in others if f.kind == kind and f not in chosen]
        if left_out and not any(f.kind == kind for f in chosen):
            chosen.append(rng.choice(left_out))
    rng.shuffle(chosen)
    if all_facts:
        chosen = list(template.facts)
    facts = tuple(Fact(kind=f.kind, text=rng.choice(f.text), ask=f.ask, key=f.key) for f in chosen)
    return Case(
        id=case_id(template, seed, source),
        diagnosis=template.diagnosis,
        aliases=template.aliases,
        icd10=template.icd10,
        body_system=template.body_system,
        age=age,
        sex=sex,
        chief_complaint=complaint,
        facts=facts,
        source=source,
        cluster=cluster,
    )
