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
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's grpodx, not an installed one


def _summary(episodes, group_size: int | None) -> dict[str, float]:
    scored = [e for e in episodes if e.trainable]
    out: dict[str, float] = {"episodes": len(episodes)}
    if scored:
        out |= {f"part_{k}": round(sum(e.parts[k] for e in scored) / len(scored), 4) for k in scored[0].parts}
        out["reward_mean"] = round(sum(e.reward for e in scored) / len(scored), 4)
        out["accuracy"] = round(sum(bool(e.verdict and e.verdict.correct) for e in scored) / len(scored), 4)
        out["turns"] = round(sum(e.turns for e in scored) / len(scored), 3)
    for status in ("diagnosed", "out_of_turns", "truncated", "env_error"):
        out[f"status_{status}"] = round(sum(e.status == status for e in episodes) / len(episodes), 4)
    if group_size:
        rewards = [e.reward for e in episodes]
        groups = [rewards[i : i + group_size] for i in range(0, len(rewards), group_size)]
        out["zero_variance_groups"] = round(sum(max(g) - min(g) < 1e-9 for g in groups) / len(groups), 4)
    return out


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
    args = ours.parse_args(argv[:split])

    from grpodx.train_cli import GrpodxCLI, _cli_kwargs
    from grpodx.warmup import WarmUp

    cli = GrpodxCLI(**_cli_kwargs(argv[split + 1 :]), run=False)
    model, data, trainer = cli.model, cli.datamodule, cli.trainer
    data.setup("fit")
    trainer._data_connector.attach_datamodule(model, datamodule=data)  # what fit does, without fitting
    model.trainer = trainer
    model.setup("fit")
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
    if args.eval:
        started = time.perf_counter()
        evaluated = model._eval_episodes(data.val_cases[: args.eval])
        record["eval"] = _summary(evaluated, None) | {"seconds": round(time.perf_counter() - started, 1)}
        episodes += evaluated
    if args.transcripts:
        with open(args.transcripts, "w") as file:
            file.write("\n\n".join(e.transcript() for e in episodes))
    print(json.dumps(record))
    model.teardown("fit")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
