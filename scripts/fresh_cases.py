"""Write new patients of the experiment's diagnoses, none of which the experiment ever used, as
JSONL for `--data.test_cases jsonl:FILE`: a second, larger held-out set (README "Ablations").

    python scripts/fresh_cases.py runs/bigtest/cases.jsonl [--first-seed 100] [--per-disease 10]

The experiment (configs/smollm2-learn.yaml) draws case seeds 0-9 of each diagnosis and splits
those 120 cases into train, val and test; these are seeds 100-109 (by default). A new case that
happens to equal an experiment case (same age, sex, complaint and facts) is left out and counted.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's grpodx


def main(argv: list[str]) -> int:
    from grpodx.cases.bank import builtin_templates
    from grpodx.cases.jsonl import write_cases
    from grpodx.cases.sources import variants
    from grpodx.train.data import CaseDataModule

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--config", default="configs/smollm2-learn.yaml", help="the experiment whose diagnoses and cases to use")
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--per-disease", type=int, default=10)
    args = parser.parse_args(argv)
    data = (yaml.safe_load(Path(args.config).read_text()) or {}).get("data", {})
    wanted = {d.lower() for d in data.get("diagnoses", [])}
    templates = [t for t in builtin_templates() if t.diagnosis.lower() in wanted]
    if len(templates) != len(wanted):
        raise SystemExit(f"{args.config}: {len(wanted) - len(templates)} of its diagnoses are not in the built-in bank")
    defaults = inspect.signature(CaseDataModule).parameters  # what the experiment gets where its config is silent
    seed = data.get("seed", defaults["seed"].default)
    count = data.get("variants_per_disease", defaults["variants_per_disease"].default)
    if args.first_seed < seed + count:
        raise SystemExit(f"--first-seed {args.first_seed} overlaps the experiment's case seeds")
    used = variants(templates, seed, count)

    def content(case):
        return (case.age, case.sex, case.chief_complaint, tuple(sorted(str(f) for f in case.facts)))

    seen = {content(c) for c in used}
    fresh = variants(templates, args.first_seed, args.per_disease)
    kept = [c for c in fresh if content(c) not in seen]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_cases(args.out, kept)
    print(f"{args.out}: {len(kept)} cases of {len(templates)} diagnoses ({len(fresh) - len(kept)} equal to an experiment case, left out)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
