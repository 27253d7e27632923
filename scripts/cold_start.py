"""Measure the cold start: how many GRPO groups have any signal before the first update.

Builds the model, data and callbacks from a config exactly as `fit` would, optionally runs the
config's supervised warm-up, then rolls out `--batches` training batches at the starting
weights and prints one JSON line: the fraction of zero-variance groups, the mean reward parts
and the statuses; with `--eval N`, also one greedy evaluation of N validation cases.

    OMP_NUM_THREADS=1 python scripts/cold_start.py --label forced --batches 2 -- \\
        --config configs/smollm2-learn.yaml --model.rollout.force_final_diagnosis true
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's grpodx, not an installed one


def _zero_variance(episodes, group_size: int, weights) -> float:
    from grpodx.train.rewards import Rubric, reward_funcs

    rubric = Rubric(reward_funcs(weights))
    rewards = [rubric.total(e.parts) if e.trainable else 0.0 for e in episodes]
    groups = [rewards[i : i + group_size] for i in range(0, len(rewards), group_size)]
    return round(sum(max(g) - min(g) < 1e-9 for g in groups) / len(groups), 4)


def _repeats(text: str) -> bool:
    """A doctor turn that says one sentence (of 3+ words) twice: the cold-start failure."""
    sentences = [" ".join(x.split()).lower() for x in re.split(r"[.!?\n]+", text) if len(x.split()) >= 3]
    return len(sentences) != len(set(sentences))


def _summary(episodes, group_size: int | None) -> dict[str, float]:
    from grpodx.train.rewards import mean_parts

    scored = [e for e in episodes if e.trainable]
    out: dict[str, float] = {"episodes": len(episodes)}
    if scored:
        out |= {f"part_{k}": round(v, 4) for k, v in mean_parts([e.parts for e in scored])}
        out["reward_mean"] = round(sum(e.reward for e in scored) / len(scored), 4)
        out["accuracy"] = round(sum(bool(e.verdict and e.verdict.correct) for e in scored) / len(scored), 4)
        out["turns"] = round(sum(e.turns for e in scored) / len(scored), 3)
        doctor = [m["content"] for e in scored for m in e.messages if m["role"] == "assistant"]
        out["repeating_turns"] = round(sum(_repeats(t) for t in doctor) / max(len(doctor), 1), 4)
    for status in ("diagnosed", "out_of_turns", "truncated", "env_error"):
        out[f"status_{status}"] = round(sum(e.status == status for e in episodes) / len(episodes), 4)
    return out


def _write(path: str, episodes) -> None:
    if path:
        with open(path, "w") as file:
            file.write("\n\n".join(e.transcript() for e in episodes))


def main(argv: list[str]) -> int:
    if "--" not in argv:
        print("usage: cold_start.py [--label L] [--batches N] [--eval N] [--warmup] -- FIT OPTIONS", file=sys.stderr)
        return 2
    split = argv.index("--")
    ours = argparse.ArgumentParser()
    ours.add_argument("--label", default="")
    ours.add_argument("--batches", type=int, default=2)
    ours.add_argument("--eval", type=int, default=0, help="greedy-evaluate this many validation cases")
    ours.add_argument("--warmup", action="store_true", help="run the config's warmup first")
    ours.add_argument("--transcripts", default="", help="write every episode's transcript to this file")
    ours.add_argument("--graded-weights", default="0,0.2", help="zero-variance fraction under each reward.w_format_graded")
    ours.add_argument("--eval-penalties", default="", help="comma list: evaluate once per eval_repetition_penalty")
    args = ours.parse_args(argv[:split])

    from grpodx.run.cli import build_cli
    from grpodx.train.warmup import WarmUp

    cli = build_cli(argv[split + 1 :], run=False)
    model, data, trainer = cli.model, cli.datamodule, cli.trainer
    data.setup("fit")
    model.build_engine(data.judge_cases())  # what setup("fit") does, without a Trainer fitting
    torch.manual_seed(0)
    record: dict[str, object] = {"label": args.label}
    started = time.perf_counter()
    if args.warmup:
        warm = next(c for c in trainer.callbacks if isinstance(c, WarmUp))
        losses = warm.run(model.policy, model.engine, data.train_cases, [*data.val_cases, *data.test_cases])
        record |= {"warmup_loss_first": round(losses[0], 3), "warmup_loss_last": round(sum(losses[-5:]) / len(losses[-5:]), 3)}
    record["warmup_s"] = round(time.perf_counter() - started, 1)
    episodes, batches = [], iter(data.train_dataloader())
    g = model.rollout_config.group_size
    started = time.perf_counter()
    for _ in range(args.batches):
        rolled = model.roll_out(next(batches), g, model.rollout_config.temperature)
        model.score(rolled)
        episodes += rolled
    record["rollout_s"] = round(time.perf_counter() - started, 1)
    record["train"] = _summary(episodes, g)
    for w in (float(x) for x in args.graded_weights.split(",")):
        record["train"][f"zero_variance_groups@w_format_graded={w}"] = _zero_variance(episodes, g, replace(model.reward_weights, w_format_graded=w))
    _write(args.transcripts, episodes)
    print(json.dumps(record), flush=True)  # the rollout's numbers first: evaluation may take long
    record = {"label": args.label}
    penalties = [float(x) for x in args.eval_penalties.split(",")] if args.eval_penalties else [model.rollout_config.eval_repetition_penalty]
    for penalty in penalties if args.eval else []:
        model.rollout_config.eval_repetition_penalty = penalty  # the engine reads the same config object
        started = time.perf_counter()
        evaluated = model.eval_episodes(data.val_cases[: args.eval])
        record[f"eval@repetition_penalty={penalty}"] = _summary(evaluated, None) | {"seconds": round(time.perf_counter() - started, 1)}
        episodes += evaluated
    _write(args.transcripts, episodes)
    print(json.dumps(record), flush=True)
    model.teardown("fit")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
