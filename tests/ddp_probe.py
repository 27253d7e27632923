"""A callback for the DDP test: each rank writes which cases it trained on and what it measured."""

import json
from pathlib import Path

from lightning.pytorch import Callback


class RankProbe(Callback):
    def __init__(self, out_dir: str) -> None:
        self.out_dir = Path(out_dir)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        episodes = pl_module.last_episodes
        record = {
            "rank": trainer.global_rank,
            "world": trainer.world_size,
            "step": trainer.global_step,
            "cases": [c.id for c in batch],
            "rewards": [e.reward for e in episodes if e.trainable],
            "doctor_tokens": sum(sum(e.doctor_mask) for e in episodes if e.trainable),
            "logged": {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("train/")},
        }
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with open(self.out_dir / f"rank{trainer.global_rank}.jsonl", "a") as handle:
            handle.write(json.dumps(record) + "\n")
