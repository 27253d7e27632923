"""`python -m grpodx cases stats|list|show|generate`: inspect case sources and write LLM case cards."""

from __future__ import annotations

import argparse
import asyncio
import difflib
import sys
from collections import Counter
from statistics import mean

from grpodx.cases.checks import missing_kinds, name_leaks
from grpodx.cases.errors import CaseError
from grpodx.cases.jsonl import write_cases
from grpodx.cases.schema import FACT_KINDS, Case
from grpodx.cases.sources import load_source


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grpodx cases", description="Inspect case sources; generate case cards with an LLM.")
    commands = parser.add_subparsers(dest="command", required=True)
    listed = (("stats", "counts by body system, facts per case, validation problems"), ("list", "case ids and diagnoses"), ("show", "print one case"))
    for name, help_text in listed:
        command = commands.add_parser(name, help=help_text)
        command.add_argument("source", help="builtin, inquiry, a path, or FORMAT:PATH (builtin, inquiry, jsonl, agentclinic, ddxplus, mediq)")
        if name == "show":
            command.add_argument("id", help="the case id, e.g. builtin/acute-myocardial-infarction/0, or a diagnosis to find cases by")
        if name == "list":
            command.add_argument("--diagnosis", default="", help="only cases whose diagnosis or an alias contains this text (any case)")
        command.add_argument("--skip-invalid", action="store_true", help="report bad records instead of failing on the first")
        command.add_argument("--variants", type=int, default=None, help="cases per disease for template sources (default 1; 10 for inquiry)")
        command.add_argument("--seed", type=int, default=0)
    generate = commands.add_parser("generate", help="ask an LLM for case cards and write them as case JSONL")
    generate.add_argument("--model", required=True, help="a LiteLLM model string, e.g. openai/gpt-4o-mini")
    generate.add_argument("-n", type=int, default=50, help="how many cards")
    generate.add_argument("-o", "--output", required=True, help="the case JSONL file to write")
    generate.add_argument("--api-base", default=None, help="an OpenAI-compatible server, e.g. http://localhost:8000/v1")
    generate.add_argument("--api-key", default=None)
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--max-retries", type=int, default=3, help="re-asks per card after an invalid reply")
    generate.add_argument("--temperature", type=float, default=0.9)
    return parser


def stats_lines(cases: list[Case]) -> list[str]:
    lines = [f"cases: {len(cases)}, diagnoses: {len({c.diagnosis.lower() for c in cases})}", "by body system:"]
    systems = Counter(c.body_system for c in cases)
    lines += [
        f"  {system:24s} {count:5d}  ({len({c.diagnosis for c in cases if c.body_system == system})} diagnoses)" for system, count in sorted(systems.items())
    ]
    coded = [c for c in cases if c.source not in ("builtin", "inquiry")][:20]  # the package's own are coded by hand
    if coded:
        lines.append("codes of imported cases (first 20):")
        lines += [f"  {c.icd10 or '-':9s} {c.body_system:22s} {c.diagnosis}" for c in coded]
    if cases:
        counts = [len(c.facts) for c in cases]
        lines.append(f"facts per case: min {min(counts)}, mean {mean(counts):.1f}, max {max(counts)}")
        kinds = [Counter(f.kind for f in c.facts) for c in cases]
        lines.append("facts per case by kind (min/mean/max):")
        lines += [f"  {k:12s} {min(x[k] for x in kinds)}/{mean(x[k] for x in kinds):.1f}/{max(x[k] for x in kinds)}" for k in FACT_KINDS]
        keys = [sum(f.key for f in c.facts) for c in cases]
        if any(keys):
            lines.append(f"key facts per case: min {min(keys)}, mean {mean(keys):.1f}, max {max(keys)}")
    with_code = sum(bool(c.icd10) for c in cases)
    lines.append(f"with an ICD-10 code: {with_code} of {len(cases)}; body system 'other': {systems.get('other', 0)}")
    lines.append(f"with answer options: {sum(bool(c.options) for c in cases)}")
    return lines


def cluster_lines(cases: list[Case]) -> list[str]:
    """Per presentation cluster: naive Bayes from the opening alone and given every fact,
    cross-validated over the seeded variants, beside the majority rate (`grpodx.cases.honesty`)."""
    from grpodx.cases.honesty import cluster_honesty

    if not any(c.cluster for c in cases):
        return []
    seeds = {c.id.rsplit("/", 1)[-1] for c in cases if c.cluster}
    if len(seeds) < 2:
        return ["clusters: naive Bayes figures need --variants 2 or more (cross-validated over seeded variants)"]
    rows = cluster_honesty(cases)
    lines = [
        f"clusters: {len(rows)}, diagnoses in clusters: {sum(r.diagnoses for r in rows)}",
        "  naive Bayes accuracy by cluster (opening: words, age band, sex; all: every fact too):",
    ]
    lines.append(f"  {'dx':>3s} {'cases':>5s} {'majority':>8s} {'opening':>8s} {'all':>6s}  cluster")
    lines += [f"  {r.diagnoses:3d} {r.cases:5d} {r.majority:8.0%} {r.opening:8.0%} {r.all_facts:6.0%}  {r.cluster}" for r in rows]
    return lines


def _listed(title: str, items: list[str], limit: int = 20) -> list[str]:
    if not items:
        return [f"{title}: none"]
    more = [f"  ... and {len(items) - limit} more"] if len(items) > limit else []
    return [f"{title}: {len(items)}", *(f"  {item}" for item in items[:limit]), *more]


def problem_lines(cases: list[Case], rejected: list[tuple[str, str]]) -> list[str]:
    """Rejected records, then content warnings: names of the diagnosis in what the patient says, missing kinds."""
    lines = _listed("validation problems (rejected records)", [f"{where}: {reason}" for where, reason in rejected], limit=50)
    lines += _listed("diagnosis named in a complaint or fact", [f"{c.id}: {leak}" for c in cases for leak in name_leaks(c)])
    missing = Counter(kind for c in cases for kind in missing_kinds(c))
    lines += [f"cases without {kind} facts: {missing[kind]}" for kind in sorted(missing)]
    return lines


def _load(args: argparse.Namespace) -> tuple[list[Case], list[str]]:
    if args.variants is None:  # inquiry's per-cluster figures are cross-validated over variants
        args.variants = 10 if args.source.split(":")[0] == "inquiry" else 1
    cases, report = load_source(args.source, seed=args.seed, variants_per_disease=args.variants, skip_invalid=args.skip_invalid)
    return cases, [report.summary(max_rejected=0), *problem_lines(cases, report.rejected)]


def show_lines(case: Case) -> list[str]:
    lines = [
        f"id: {case.id}",
        f"diagnosis: {case.diagnosis}",
        f"aliases: {', '.join(case.aliases) or '-'}",
        f"icd10: {case.icd10 or '-'}   body system: {case.body_system}   source: {case.source}" + (f"   cluster: {case.cluster}" if case.cluster else ""),
        f"patient: {case.demographics or 'unknown'}",
        f"chief complaint: {case.chief_complaint}",
        "facts:",
    ]
    lines += [f"  [{f.kind}{', key' if f.key else ''}] {f.text}" + (f"   (ask: {', '.join(f.ask)})" if f.ask else "") for f in case.facts]
    lines += [f"options: {' | '.join(case.options)}"] if case.options else []
    return lines


def by_diagnosis(cases: list[Case], text: str) -> list[Case]:
    """Cases whose diagnosis or an alias contains `text`, ignoring case and `-`/`_` for spaces
    (so an id-like `community-acquired-pneumonia` finds the diagnosis too)."""
    norm = lambda s: " ".join(s.lower().replace("-", " ").replace("_", " ").split())  # noqa: E731
    wanted = norm(text)
    return [c for c in cases if wanted and any(wanted in norm(name) for name in (c.diagnosis, *c.aliases))]


def list_lines(cases: list[Case]) -> list[str]:
    width = max((len(c.id) for c in cases), default=0)
    return [f"{c.id:<{width}}  {c.diagnosis}" for c in cases]


def _list(args: argparse.Namespace) -> int:
    cases, _ = _load(args)
    chosen = by_diagnosis(cases, args.diagnosis) if args.diagnosis else cases
    print("\n".join(list_lines(chosen)) if chosen else f"no case in {args.source} has a diagnosis containing {args.diagnosis!r}")
    return 0 if chosen else 1


def _show(args: argparse.Namespace) -> int:
    cases, _ = _load(args)
    by_id = {c.id: c for c in cases}
    seed = args.id.rsplit("/", 1)[-1]
    if args.id not in by_id and seed.isdigit():  # a template source's ids end in the case seed
        args.seed = int(seed)
        by_id.update((c.id, c) for c in _load(args)[0])
    if args.id not in by_id:
        first: dict[str, str] = {}
        for c in by_diagnosis(cases, args.id):
            first.setdefault(c.diagnosis, c.id)  # one case per diagnosis: its variants add nothing here
        named = list(first.values())
        close = named[:5] or difflib.get_close_matches(args.id, list(by_id), n=5, cutoff=0.5)
        more = f" (and {len(named) - 5} more diagnoses: cases list {args.source} --diagnosis {args.id!r})" if len(named) > 5 else ""
        print(f"no case {args.id!r} in {args.source}" + (f"; did you mean: {', '.join(close)}{more}" if close else ""), file=sys.stderr)
        return 1
    print("\n".join(show_lines(by_id[args.id])))
    return 0


def _generate(args: argparse.Namespace) -> int:
    from grpodx.cases.generate import generate_cases  # imports litellm: only when generating

    result = asyncio.run(
        generate_cases(
            args.model, args.n, api_base=args.api_base, api_key=args.api_key, seed=args.seed, max_retries=args.max_retries, temperature=args.temperature
        )
    )
    if result.stopped:
        print(f"error: {result.stopped}", file=sys.stderr)
    if result.cases:  # an empty file would pass for a finished, empty run
        write_cases(args.output, result.cases)
    print(f"wrote {len(result.cases)} of {args.n} cards to {args.output if result.cases else '(nothing: no file written)'} ({result.attempts} requests)")
    for failure in result.failures:
        print(f"  failed {failure}", file=sys.stderr)
    return 0 if len(result.cases) == args.n else 1


def main(argv: list[str]) -> int:
    """Run one `cases` command; argv excludes the word `cases`. Returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "stats":
            cases, lines = _load(args)
            print("\n".join([lines[0], *stats_lines(cases), *cluster_lines(cases), *lines[1:]]))
            return 0
        if args.command == "list":
            return _list(args)
        return _show(args) if args.command == "show" else _generate(args)
    except (CaseError, ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
