"""Write new patients of an experiment's diagnoses, none of which the experiment ever used, as
JSONL for `--data.test_cases jsonl:FILE`: the held-out patients of scripts/learn*.sh.

    python scripts/fresh_cases.py runs/x/heldout.jsonl --config configs/cpu.yaml [--config MORE.yaml]
        [--first-seed 100] [--per-disease 10]

An experiment draws case seeds `data.seed` .. `data.seed + data.variants_per_disease - 1` of each
diagnosis of its `data.sources` (then splits those into train, val and test); these patients come
from case seeds `--first-seed` .. `--first-seed + --per-disease - 1` of the same sources and
diagnoses, so training never drew them. A new case that happens to equal an experiment case
(same age, sex, complaint and facts) is left out and counted. Several `--config` files layer as
LightningCLI layers them (later keys win, nested mappings merge).
"""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's grpodx


def layered(paths: list[str]) -> dict:
    """The configs merged in order: a later file's keys win, nested mappings merge."""

    def merge(base: dict, more: dict) -> dict:
        out = dict(base)
        for key, value in more.items():
            out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        return out

    merged: dict = {}
    for path in paths:
        merged = merge(merged, yaml.safe_load(Path(path).read_text()) or {})
    return merged


def main(argv: list[str]) -> int:
    from grpodx.cases.jsonl import write_cases
    from grpodx.cases.sources import load_sources
    from grpodx.train.data import CaseDataModule, keep_diagnoses

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--config", action="append", help="the experiment's config(s), in the order fit gets them (default: configs/smollm2-learn.yaml)")
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--per-disease", type=int, default=10)
    args = parser.parse_args(argv)
    configs = args.config or ["configs/smollm2-learn.yaml"]
    data = layered(configs).get("data", {})
    defaults = inspect.signature(CaseDataModule).parameters  # what the experiment gets where its config is silent
    sources = data.get("sources", defaults["sources"].default)
    seed = data.get("seed", defaults["seed"].default)
    count = data.get("variants_per_disease", defaults["variants_per_disease"].default)
    if args.first_seed < seed + count:
        raise SystemExit(f"--first-seed {args.first_seed} overlaps the experiment's case seeds {seed}..{seed + count - 1} ({', '.join(configs)})")

    def load(first: int, per_disease: int) -> list:
        cases, _ = load_sources(sources, seed=first, variants_per_disease=per_disease)
        return keep_diagnoses(cases, data["diagnoses"]) if data.get("diagnoses") else cases

    def content(case) -> tuple:
        return (case.diagnosis, case.age, case.sex, case.chief_complaint, tuple(sorted(str(f) for f in case.facts)))

    seen = {content(c) for c in load(seed, count)}
    fresh = load(args.first_seed, args.per_disease)
    kept = [c for c in fresh if content(c) not in seen]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_cases(args.out, kept)
    diagnoses = len({c.diagnosis for c in kept})
    print(f"{args.out}: {len(kept)} cases of {diagnoses} diagnoses ({len(fresh) - len(kept)} equal to an experiment case, left out)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
