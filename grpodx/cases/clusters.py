"""Presentation clusters: cases where asking is the only way to the answer (the `inquiry` source).

A cluster is one presenting complaint ("chest pain") and the diagnoses a clinician weighs
behind it. Case seed k of a cluster opens the same way for every diagnosis: the same complaint
wording, age and sex, all drawn from the cluster and the seed, never from the diagnosis (a
matched design: the opening cannot tell the diagnoses apart, not even by sampling noise). Only
a diagnosis whose record sets its own age range or sex (where a clinician would use it) draws
within those. What tells the diagnoses apart comes only by asking: each diagnosis has key facts
(`Fact.key`), which answer the cluster's discriminating questions.

One JSONL file a cluster in grpodx/cases/inquiry/. Line 1 is the cluster:
    {"cluster": "acute chest pain", "age": [35, 75], "complaint": [...], "questions": [...]}
each further line one diagnosis, either a bank disease with the key facts this cluster needs
    {"bank": "Acute pericarditis", "key": [{"kind": "symptom", "text": [...], "ask": [...]}]}
or a new disease in the bank's template format without `chief_complaint`, its key facts marked
`"key": true`. Either may set "age" or "sex" where the disease's epidemiology must win.
"""

from __future__ import annotations

import dataclasses
import random
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from grpodx.cases.bank import builtin_templates, parse_template
from grpodx.cases.errors import CaseError
from grpodx.cases.fields import check_unknown, one_string, strings
from grpodx.cases.schema import MEASURED_KINDS, SEXES, Case, DiseaseTemplate, Fact
from grpodx.cases.tally import ImportReport, json_lines
from grpodx.cases.variation import instantiate

SOURCE = "inquiry"
OTHER_SEX_ONLY = {
    "male": re.compile(r"\bperiods?\b|menstru|pregnan|menopaus|vagin|breastfe|postpartum|ovar|uter(us|ine)", re.I),
    "female": re.compile(r"prostat|testic|scrot|erecti|penis", re.I),
}
"""Facts a case of this sex cannot have. A cluster draws sex by seed for diagnoses a clinician
would not rule in or out by sex (cystitis, hypothyroidism in a man), so a bank fact written for
the usual sex ('My periods are heavy') is left out of the other sex's case."""
MIN_DIAGNOSES = 4
_CLUSTER_FIELDS = {"cluster", "age", "complaint", "questions"}


@dataclass(frozen=True)
class Cluster:
    """One presenting complaint and the diagnoses behind it."""

    name: str
    age: tuple[int, int]
    """The age range every diagnosis of the cluster draws from (unless it overrides it)."""
    complaints: tuple[str, ...]
    """The opening wordings; case seed k opens with the same one for every diagnosis."""
    questions: tuple[str, ...]
    """The discriminating questions, in the order the scripted doctor asks them."""
    templates: tuple[DiseaseTemplate, ...]

    def opening(self, template: DiseaseTemplate, seed: int) -> DiseaseTemplate:
        """`template` pinned to seed `seed`'s complaint, age and sex. Drawn from the cluster and
        the seed, never the diagnosis: one draw order for every template, so templates with the
        same age range and sex get the same age and sex."""
        rng = random.Random(f"{self.name}\x00{seed}")
        complaint = rng.choice(self.complaints)
        age = rng.randint(*template.age)
        sex = rng.choice(SEXES)
        return replace(template, chief_complaint=(complaint,), age=(age, age), sex=template.sex if template.sex != "any" else sex)


def _age(value: Any, where: str) -> tuple[int, int]:
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(a, int) for a in value) and 0 <= value[0] <= value[1] <= 110):
        raise CaseError(where, "age", "must be [low, high] with 0 <= low <= high <= 110")
    return value[0], value[1]


def _header(raw: Any, where: str) -> tuple[str, tuple[int, int], tuple[str, ...], tuple[str, ...]]:
    if not isinstance(raw, dict) or "cluster" not in raw:
        raise CaseError(where, "cluster", "line 1 of a cluster file must be the cluster: {cluster, age, complaint, questions}")
    check_unknown(raw, _CLUSTER_FIELDS, where)
    return (
        one_string(raw.get("cluster"), where, "cluster"),
        _age(raw.get("age"), where),
        strings(raw.get("complaint"), where, "complaint"),
        strings(raw.get("questions"), where, "questions"),
    )


def _bank_template(name: str, where: str) -> DiseaseTemplate:
    found = [t for t in builtin_templates() if t.diagnosis.lower() == name.lower()]
    if not found:
        raise CaseError(where, "bank", f"no bank disease named {name!r} (see `python -m grpodx cases stats builtin`)")
    return found[0]


def _diagnosis(raw: Any, where: str, age: tuple[int, int]) -> DiseaseTemplate:
    """One diagnosis line: a bank disease plus key facts, or a new template; ages default to the cluster's."""
    if not isinstance(raw, dict):
        raise CaseError(where, "<record>", "must be a JSON object")
    overrides = {k: raw.pop(k) for k in ("age", "sex") if k in raw}
    if "bank" in raw:
        check_unknown(raw, {"bank", "key"}, where)
        base = _bank_template(one_string(raw["bank"], where, "bank"), where)
        if not isinstance(raw.get("key"), list) or not raw["key"]:
            raise CaseError(where, "key", "must be a non-empty list of key facts")
        keys = [{**fact, "key": True} if isinstance(fact, dict) else fact for fact in raw["key"]]
        bank_facts = [{"kind": f.kind, "text": list(f.text), "ask": list(f.ask), "core": f.core} for f in base.facts]
        record = {
            "diagnosis": base.diagnosis,
            "aliases": list(base.aliases),
            "icd10": base.icd10,
            "body_system": base.body_system,
            "age": list(age),
            "sex": base.sex,
            "chief_complaint": ["-"],
            "facts": keys + bank_facts,
        }
    else:
        record = {**raw, "chief_complaint": ["-"], "age": list(age)}
    record |= overrides
    template = parse_template(record, where)
    if not any(f.key for f in template.facts):
        raise CaseError(where, "facts", 'needs at least one key fact ("key": true): what tells it apart from its cluster')
    return template


def load_cluster(path: Path) -> Cluster:
    """Read one cluster file; any bad line is an error naming file, line and field."""
    lines = list(json_lines(path))
    if not lines:
        raise CaseError(f"{path}:1", "cluster", "an empty cluster file")
    name, age, complaints, questions = _header(lines[0][1], lines[0][0])
    templates = tuple(_diagnosis(raw, where, age) for where, raw in lines[1:])
    if len(templates) < MIN_DIAGNOSES:
        raise CaseError(f"{path}", "diagnoses", f"cluster {name!r} needs at least {MIN_DIAGNOSES} diagnoses, has {len(templates)}")
    names = [t.diagnosis.lower() for t in templates]
    if len(set(names)) != len(names):
        raise CaseError(f"{path}", "diagnoses", f"cluster {name!r} lists a diagnosis twice")
    return Cluster(name, age, complaints, questions, templates)


def load_clusters(folder: Path) -> tuple[Cluster, ...]:
    """Every `*.jsonl` cluster in `folder`, by file name; a diagnosis may be in one cluster only."""
    clusters = tuple(load_cluster(p) for p in sorted(folder.glob("*.jsonl")))
    if not clusters:
        raise CaseError(str(folder), "clusters", "no *.jsonl cluster files")
    owner: dict[str, str] = {}
    for cluster in clusters:
        for template in cluster.templates:
            if owner.setdefault(template.diagnosis.lower(), cluster.name) != cluster.name:
                raise CaseError(str(folder), "diagnoses", f"{template.diagnosis!r} is in both {owner[template.diagnosis.lower()]!r} and {cluster.name!r}")
    return clusters


@lru_cache(maxsize=1)
def builtin_clusters() -> tuple[Cluster, ...]:
    """The clusters shipped as package data."""
    with resources.as_file(resources.files("grpodx.cases") / "inquiry") as folder:
        return load_clusters(Path(folder))


def cluster_cases(cluster: Cluster, seed: int, count: int) -> list[Case]:
    """`count` cases of each diagnosis of `cluster`, case seeds seed, seed+1, ...; ids
    'inquiry/<diagnosis>/<seed>' are stable."""
    cases = [instantiate(cluster.opening(t, seed + k), seed + k, source=SOURCE, cluster=cluster.name) for t in cluster.templates for k in range(count)]
    return [_for_sex(case) for case in cases]


def _for_sex(case: Case) -> Case:
    other = OTHER_SEX_ONLY.get(case.sex or "")
    if other is None:
        return case
    facts = tuple(kept for f in case.facts if (kept := f if f.key else _without(f, other)) is not None)
    return dataclasses.replace(case, facts=facts) if facts != case.facts else case


def _without(fact: Fact, other: re.Pattern[str]) -> Fact | None:
    """The fact without what this sex cannot have: a finding loses only its clause
    ('...; pregnancy test negative.'), a reported fact goes whole."""
    if not other.search(fact.text):
        return fact
    if fact.kind not in MEASURED_KINDS:
        return None
    clauses = [c.strip() for c in fact.text.rstrip(".").split(";") if not other.search(c)]
    return dataclasses.replace(fact, text="; ".join(clauses) + ".") if clauses else None


def load_inquiry(path: Path | None, seed: int, count: int) -> tuple[list[Case], ImportReport]:
    """The `inquiry` source: the shipped clusters, or those in the folder `path`."""
    if count < 1:
        raise ValueError(f"variants_per_disease must be at least 1, got {count}")
    clusters = builtin_clusters() if path is None else load_clusters(path)
    templates = sum(len(c.templates) for c in clusters)
    report = ImportReport(source=SOURCE if path is None else f"{SOURCE}:{path}", read=templates, accepted=templates)
    cases = [case for cluster in clusters for case in cluster_cases(cluster, seed, count)]
    report.cases = len(cases)
    return cases, report
