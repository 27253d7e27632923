"""Case sources by name: `builtin`, a path (format guessed from it), or `format:path`.

Formats: builtin (disease templates; bare `builtin` is the package bank), inquiry (presentation
clusters, `grpodx.cases.clusters`; bare `inquiry` is the package's), jsonl (concrete cases),
agentclinic (OSCE JSONL), ddxplus (knowledge-base folder), ddxplus-initial (the same, each case
opening with one shared symptom, DDXPlus's initial evidence), mediq (JSONL).
Template sources (builtin, inquiry, ddxplus, ddxplus-initial) yield `variants_per_disease` seeded cases per disease;
record sources (jsonl, agentclinic, mediq) yield one case per record.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from grpodx.cases.bank import builtin_templates, parse_template
from grpodx.cases.errors import CaseError
from grpodx.cases.jsonl import read_cases
from grpodx.cases.schema import Case, DiseaseTemplate
from grpodx.cases.tally import ImportReport, json_lines, parse_records
from grpodx.cases.variation import instantiate

Loader = Callable[[Path | None, int, int, bool], tuple[list[Case], ImportReport]]


def variants(templates: list[DiseaseTemplate] | tuple[DiseaseTemplate, ...], seed: int, count: int) -> list[Case]:
    """`count` cases of each template, with case seeds seed, seed+1, ... (ids end in the case seed)."""
    if count < 1:
        raise ValueError(f"variants_per_disease must be at least 1, got {count}")
    return [instantiate(t, seed + k) for t in templates for k in range(count)]


def _builtin(path: Path | None, seed: int, count: int, skip_invalid: bool) -> tuple[list[Case], ImportReport]:
    if path is None:
        templates = list(builtin_templates())
        report = ImportReport(source="builtin", read=len(templates), accepted=len(templates))
    else:
        report = ImportReport(source=f"builtin:{path}")
        templates = parse_records(json_lines(path), lambda raw, where: [parse_template(raw, where)], report, skip_invalid)
    cases = variants(templates, seed, count)
    report.cases = len(cases)
    return cases, report


def _inquiry(path: Path | None, seed: int, count: int, skip_invalid: bool) -> tuple[list[Case], ImportReport]:
    from grpodx.cases.clusters import load_inquiry

    return load_inquiry(path, seed, count)


def _file(path: Path | None, fmt: str) -> Path:
    """The path a file format needs (only `builtin` and `inquiry` have a default)."""
    if path is None:
        raise ValueError(f"case source {fmt!r} needs a path: {fmt}:PATH")
    return path


def _jsonl(path: Path | None, seed: int, count: int, skip_invalid: bool) -> tuple[list[Case], ImportReport]:
    return read_cases(_file(path, "jsonl"), skip_invalid=skip_invalid)


def _agentclinic(path: Path | None, seed: int, count: int, skip_invalid: bool) -> tuple[list[Case], ImportReport]:
    from grpodx.cases.importers.agentclinic import import_agentclinic

    return import_agentclinic(_file(path, "agentclinic"), skip_invalid=skip_invalid)


def _ddxplus(path: Path | None, seed: int, count: int, skip_invalid: bool) -> tuple[list[Case], ImportReport]:
    from grpodx.cases.importers.ddxplus import import_ddxplus

    return import_ddxplus(_file(path, "ddxplus"), seed=seed, variants_per_disease=count, skip_invalid=skip_invalid)


def _ddxplus_initial(path: Path | None, seed: int, count: int, skip_invalid: bool) -> tuple[list[Case], ImportReport]:
    from grpodx.cases.importers.ddxplus import import_ddxplus

    return import_ddxplus(_file(path, "ddxplus-initial"), seed=seed, variants_per_disease=count, skip_invalid=skip_invalid, initial_evidence=True)


def _mediq(path: Path | None, seed: int, count: int, skip_invalid: bool) -> tuple[list[Case], ImportReport]:
    from grpodx.cases.importers.mediq import import_mediq

    return import_mediq(_file(path, "mediq"), skip_invalid=skip_invalid)


LOADERS: dict[str, Loader] = {
    "builtin": _builtin,
    "inquiry": _inquiry,
    "jsonl": _jsonl,
    "agentclinic": _agentclinic,
    "ddxplus": _ddxplus,
    "ddxplus-initial": _ddxplus_initial,
    "mediq": _mediq,
}


def guess_format(path: Path) -> str:
    """The format of a path: a DDXPlus folder or its conditions file, else the first JSONL record's keys."""
    if path.is_dir() or path.name == "release_conditions.json":
        if (path if path.is_dir() else path.parent).joinpath("release_conditions.json").is_file():
            return "ddxplus"
        raise ValueError(f"{path}: a folder source must hold DDXPlus's release_conditions.json")
    # the reader's own first record: a bad one (not UTF-8, nested too deep, too big) is reported
    # by the reader itself with its file and line, so here it just tells no format
    first = next((record for _, record in json_lines(path) if record is not None), None)
    if isinstance(first, CaseError):
        raise first
    keys = set(first) if isinstance(first, dict) else set()
    if "OSCE_Examination" in keys:
        return "agentclinic"
    if {"context", "answer"} <= keys:
        return "mediq"
    if {"id", "facts"} <= keys:
        return "jsonl"
    if {"facts", "chief_complaint"} <= keys:
        return "builtin"
    raise ValueError(f"{path}: cannot tell its format from the first record; write it as FORMAT:PATH with FORMAT one of {', '.join(LOADERS)}")


def parse_spec(spec: str) -> tuple[str, Path | None]:
    """'builtin' -> ('builtin', None); 'inquiry' -> ('inquiry', None); 'mediq:x.jsonl' -> ('mediq', x.jsonl); 'x.jsonl' -> guessed."""
    if spec in ("builtin", "inquiry"):
        return spec, None
    name, sep, rest = spec.partition(":")
    if sep and name in LOADERS:
        path = Path(rest).expanduser()
    elif sep and re.fullmatch(r"[A-Za-z_][\w-]+", name) and not Path(spec).expanduser().exists():
        raise ValueError(f"case source {spec!r}: unknown format {name!r}; known formats: {', '.join(LOADERS)} (builtin, inquiry, PATH or FORMAT:PATH)")
    else:
        path, name = Path(spec).expanduser(), ""
    if not path.exists():
        raise FileNotFoundError(f"case source {spec!r}: {path} does not exist")
    return name or guess_format(path), path


def load_source(spec: str, *, seed: int = 0, variants_per_disease: int = 1, skip_invalid: bool = False) -> tuple[list[Case], ImportReport]:
    """Every case of one source, and the report of what was read, accepted and rejected."""
    name, path = parse_spec(spec)
    return LOADERS[name](path, seed, variants_per_disease, skip_invalid)


def load_sources(specs: list[str], *, seed: int = 0, variants_per_disease: int = 1, skip_invalid: bool = False) -> tuple[list[Case], list[ImportReport]]:
    """Every case of several sources; ids must be unique across them."""
    cases: list[Case] = []
    reports: list[ImportReport] = []
    owner: dict[str, str] = {}
    for spec in specs:
        loaded, report = load_source(spec, seed=seed, variants_per_disease=variants_per_disease, skip_invalid=skip_invalid)
        for case in loaded:
            if case.id in owner:
                raise ValueError(f"case id {case.id!r} is in both {owner[case.id]!r} and {spec!r}")
            owner[case.id] = spec
        cases += loaded
        reports.append(report)
    return cases, reports
