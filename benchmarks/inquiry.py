"""`python -m grpodx bench inquiry`: the ceiling and the floor of the inquiry environment.

Two scripted doctors play every inquiry case through the real embedded patient and judge
(`build_patient`/`build_judge` with the default configs). Neither sees the case: each knows
only the clusters (their openings, questions and each diagnosis's key facts), as a clinician
knows the textbook.
1. `ceiling`: finds the cluster from the opening, asks the cluster's discriminating questions
   in their fixed order (at most `max_turns - 1`, leaving the last turn for the diagnosis), and
   names the diagnosis whose key facts best match the patient's answers.
2. `floor`: never asks; names the diagnosis the demographics fit best (the first of the cluster
   on a tie), which is what a doctor can do from the opening alone.
Prints one JSON object: accuracy of each, the majority rate (what always naming a cluster's
largest diagnosis scores), and both by cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from collections import defaultdict
from typing import Any

from grpodx.cases.clusters import Cluster, builtin_clusters, load_clusters
from grpodx.cases.schema import Case, DiseaseTemplate
from grpodx.clinical.text import content_stems, normalise


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grpodx bench inquiry", description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="inquiry", help="inquiry (the shipped clusters) or inquiry:FOLDER")
    parser.add_argument("--variants", type=int, default=10, help="cases per diagnosis")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-turns", type=int, default=5, help="doctor turns, the diagnosis included")
    return parser


def find_cluster(opening: str, clusters: tuple[Cluster, ...]) -> Cluster:
    """The cluster whose complaint wording the opening contains."""
    text = normalise(opening)
    for cluster in clusters:
        if any(normalise(wording) in text for wording in cluster.complaints):
            return cluster
    raise ValueError(f"no cluster opens with {opening!r}")


def key_match(template: DiseaseTemplate, answers: str) -> float:
    """How well the answers bear out the template's key facts: the mean over key facts of the
    share of a fact's words (its best wording) found in the answers."""
    heard = content_stems(answers)
    shares = [max(len(content_stems(t) & heard) / max(len(content_stems(t)), 1) for t in fact.text) for fact in template.facts if fact.key]
    return sum(shares) / len(shares)


def best_by_keys(cluster: Cluster, answers: str) -> str:
    return max(cluster.templates, key=lambda t: key_match(t, answers)).diagnosis  # max keeps the first on a tie


def best_by_demographics(cluster: Cluster, case_age: int | None, case_sex: str | None) -> str:
    def fit(template: DiseaseTemplate) -> int:
        low, high = template.age
        return int(case_age is not None and low <= case_age <= high) + int(template.sex in ("any", case_sex))

    return max(cluster.templates, key=fit).diagnosis


async def play(case: Case, clusters: tuple[Cluster, ...], patient: Any, judge: Any, seed: int, questions: int) -> tuple[str, bool, bool]:
    """(cluster, ceiling right, floor right) for one case."""
    opening = await patient.opening(case, seed)
    cluster = find_cluster(opening, clusters)
    dialogue: list[dict[str, str]] = [{"role": "patient", "content": opening}]
    for question in cluster.questions[:questions]:
        dialogue.append({"role": "doctor", "content": question})
        dialogue.append({"role": "patient", "content": await patient.reply(case, dialogue, seed)})
    answers = " ".join(m["content"] for m in dialogue[1:] if m["role"] == "patient")
    asked = await judge.score(case, best_by_keys(cluster, answers), [])
    guessed = await judge.score(case, best_by_demographics(cluster, case.age, case.sex), [])
    return cluster.name, asked.correct, guessed.correct


def _rates(rows: list[tuple[str, bool, bool]]) -> dict[str, float]:
    return {"cases": len(rows), "ceiling": sum(r[1] for r in rows) / len(rows), "floor": sum(r[2] for r in rows) / len(rows)}


async def bench_inquiry(args: argparse.Namespace) -> dict[str, Any]:
    from grpodx.cases.sources import load_source, parse_spec
    from grpodx.env import DiagnosisIndex, JudgeConfig, PatientConfig, build_judge, build_patient

    if args.max_turns < 1:
        raise ValueError(f"--max-turns must be at least 1, got {args.max_turns}")
    name, path = parse_spec(args.source)
    if name != "inquiry":
        raise ValueError(f"--source must be an inquiry source (inquiry or inquiry:FOLDER), got {args.source!r}")
    clusters = builtin_clusters() if path is None else load_clusters(path)
    cases, _ = load_source(args.source, seed=args.seed, variants_per_disease=args.variants)
    patient, judge = build_patient(PatientConfig()), build_judge(JudgeConfig(), DiagnosisIndex.for_cases(cases))
    rows = [await play(case, clusters, patient, judge, args.seed, args.max_turns - 1) for case in cases]
    by_cluster: dict[str, list[tuple[str, bool, bool]]] = defaultdict(list)
    for row in rows:
        by_cluster[row[0]].append(row)
    majority = sum(max(sum(c.diagnosis == t.diagnosis for c in cases) for t in cl.templates) for cl in clusters) / len(cases)
    return {
        "source": args.source,
        "max_turns": args.max_turns,
        "questions_asked": min(args.max_turns - 1, max(len(c.questions) for c in clusters)),
        **_rates(rows),
        "majority_rate": majority,
        "by_cluster": {name: _rates(members) for name, members in sorted(by_cluster.items())},
        "patient_calls": patient.stats.calls,
        "patient_leaks": patient.stats.leaks,
    }


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    print(json.dumps(asyncio.run(bench_inquiry(args)), indent=2))
    return 0
