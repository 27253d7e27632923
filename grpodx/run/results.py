"""What an evaluation leaves on disk: `<run>/results/<stage>.json` and `<run>/transcripts/<stage>.jsonl`.

A stage is `test`, `val` (the `validate` command) or `val_step_000100` (fit's validation at
that optimizer step; `val_step_000000` is the run's "before"). The results file holds the
metrics (as logged), a seeded bootstrap 95% interval for each headline figure (resampling
cases), the paired test of asking_gain (McNemar), the config digest, checkpoint and adapter, and the evaluated case ids; the transcript
file holds one line per evaluated episode, which is what the report pairs on.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import lightning as L
import torch

from grpodx.run.callbacks import run_dir
from grpodx.run.inquiry import revealed_facts, solved
from grpodx.run.knobs import require
from grpodx.run.metrics import episode_values, paired_budgets
from grpodx.run.secrets import redact
from grpodx.tools.stats import asking_gain_test, intervals
from grpodx.types import Episode

if TYPE_CHECKING:
    from grpodx.train.module import DoctorGRPO


@dataclass
class Evaluation:
    """A finished validation or test, as DoctorGRPO hands it to the ResultsWriter."""

    stage: str
    """'val' or 'test': the loop that ran."""
    name: str
    """What its files are called: the stage, or `val_step_000100` for fit's validation at that step."""
    metrics: dict[str, float]
    """The stage's metrics as logged, reduced over ranks."""
    records: list[dict[str, Any]]
    """Every rank's episode records (`episode_record`), in case-id order."""


def episode_record(
    e: Episode, sample: int, top_k: tuple[int, ...] = (3, 5), multiple_choice: bool = False, budgets: dict[int, Episode] | None = None
) -> dict[str, Any]:
    """One transcript line: the case, both views of the conversation, the outcome and its scores;
    with `budgets`, what the doctor said when it had only b turns."""
    verdict = e.verdict
    return {
        "case": e.case.id,
        "sample": sample,
        "truth": e.case.diagnosis,
        "body_system": e.case.body_system,
        "source": e.case.source,
        "status": e.status,
        "error": e.error,
        "diagnosis": e.diagnosis,
        "differential": list(e.differential),
        "correct": bool(verdict and verdict.correct),
        "rank": verdict.rank if verdict else None,
        "credit": verdict.credit if verdict else 0.0,
        "rationale": verdict.rationale if verdict else "",
        "turns": e.turns,
        "reward": e.reward,
        "parts": dict(e.parts.items()) if e.parts else {},
        "values": episode_values(e, top_k, multiple_choice, budgets),
        "key_facts": [i for i, f in enumerate(e.case.facts) if f.key],
        "revealed_facts": list(revealed_facts(e.case, e.dialogue)),
        "by_turns": {str(b): {"diagnosis": o.diagnosis, "status": o.status, "correct": bool(solved(o))} for b, o in sorted((budgets or {}).items())},
        "messages": e.messages,
        "dialogue": e.dialogue,
    }


def eval_records(
    episodes: list[Episode], samples: int, top_k: tuple[int, ...], multiple_choice: bool, budgets: dict[int, list[Episode]] | None = None
) -> list[dict[str, Any]]:
    """Records of an evaluation batch: `samples` consecutive episodes per case; `budgets[b]`
    the same episodes rolled out again with b turns."""
    paired = paired_budgets(episodes, budgets or {})
    return [episode_record(e, i % samples, top_k, multiple_choice, p) for i, (e, p) in enumerate(zip(episodes, paired))]


def gather(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every rank's records, on every rank, in case-id order (the order is the same however
    the cases were spread over ranks)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized() and torch.distributed.get_world_size() > 1:
        parts: list[Any] = [None] * torch.distributed.get_world_size()
        torch.distributed.all_gather_object(parts, records)
        records = [r for part in parts for r in part]
    return sorted(records, key=lambda r: (r["case"], r["sample"]))


def config_digest(config: dict[str, Any]) -> str:
    """A short hash of the (redacted) model and data configuration: equal digests, same setup."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def write_results(folder: Path, stage: str, metrics: dict[str, float], records: list[dict[str, Any]], about: dict[str, Any]) -> Path:
    """Write results/<stage>.json and transcripts/<stage>.jsonl; returns the results path."""
    (folder / "results").mkdir(parents=True, exist_ok=True)
    (folder / "transcripts").mkdir(parents=True, exist_ok=True)
    cases = sorted({r["case"] for r in records})
    result = {
        "stage": stage,
        **about,
        "episodes": len(records),
        "cases": len(cases),
        "metrics": metrics,
        "intervals": intervals(records, about["seed"], about["samples_per_case"]),
        "tests": {"asking_gain": test} if (test := asking_gain_test(records)) else {},
        "case_ids": cases,
    }
    path = folder / "results" / f"{stage}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    with open(folder / "transcripts" / f"{stage}.jsonl", "w") as file:
        for r in records:
            file.write(json.dumps({"stage": stage, **r}, default=str) + "\n")
    return path


class ResultsWriter(L.Callback):
    """Writes each validation and test to results/ and transcripts/ (rank zero), and the
    training episodes of every `train_every_n_steps`-th step to transcripts/train.jsonl."""

    def __init__(self, train_every_n_steps: int = 10) -> None:
        require("results", {"train_every_n_steps": (train_every_n_steps >= 0, ">= 0 (0: never)")}, {"train_every_n_steps": train_every_n_steps})
        self.train_every_n_steps = train_every_n_steps

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._write(trainer, pl_module, "val")

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._write(trainer, pl_module, "test")

    def _write(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        model = cast("DoctorGRPO", pl_module)  # typed access to what it hands over
        done = model.last_evaluation
        folder = run_dir(trainer)  # on every rank: finding the folder is a broadcast
        if done is None or done.stage != stage or not trainer.is_global_zero:
            return
        datamodule = getattr(trainer, "datamodule", None)
        config = redact({"model": dict(model.hparams), "data": dict(datamodule.hparams) if datamodule is not None else {}})
        about = {
            "step": trainer.global_step,
            "seed": model.seed,
            "samples_per_case": model.rollout_config.eval_samples,
            "temperature": model.rollout_config.eval_temperature,
            "config_digest": config_digest(config),
            "ckpt_path": trainer.ckpt_path,
            "adapter_path": model.policy.config.adapter_path,
            "world_size": trainer.world_size,
        }
        write_results(folder, done.name, done.metrics, done.records, about)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        n = self.train_every_n_steps
        if not (n and trainer.global_step % n == 0):
            return
        folder = run_dir(trainer) / "transcripts"  # on every rank: finding the folder is a broadcast
        if not trainer.is_global_zero:
            return
        folder.mkdir(parents=True, exist_ok=True)
        model = cast("DoctorGRPO", pl_module)
        g = model.rollout_config.group_size
        with open(folder / "train.jsonl", "a") as file:
            for i, e in enumerate(model.last_episodes):
                file.write(json.dumps({"stage": "train", "step": trainer.global_step, **episode_record(e, i % g)}, default=str) + "\n")
