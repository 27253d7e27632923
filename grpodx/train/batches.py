"""Training batches that a resumed run continues exactly where the interrupted one stopped.

Epoch e visits the training cases in an order seeded by (seed, e), in batches of `batch_size`;
each rank of a multi-process run takes every world_size-th batch (whole groups per rank).
Lightning stores `state_dict()` in every checkpoint and hands it back on resume, so the
batches after `--ckpt_path last.ckpt` are the ones an uninterrupted run would have drawn
(a plain shuffled DataLoader would start its epoch over). The iterable has a length, so
Lightning does not prefetch from it and the count of batches handed out is the count trained on.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

import torch

from grpodx.cases.schema import Case


class ResumableBatches:
    def __init__(self, cases: list[Case], batch_size: int, seed: int, rank: int = 0, world_size: int = 1) -> None:
        if not cases:
            raise ValueError("no training cases: check data.sources and the split fractions")
        self.cases, self.batch_size, self.seed = cases, batch_size, seed
        self.rank, self.world_size = rank, world_size
        self.epoch, self.consumed = 0, 0

    def __len__(self) -> int:
        return -(-len(self.cases) // self.batch_size) // self.world_size

    def _order(self, epoch: int) -> list[int]:
        generator = torch.Generator().manual_seed(zlib.crc32(repr((self.seed, epoch)).encode()))
        return torch.randperm(len(self.cases), generator=generator).tolist()

    def __iter__(self) -> Iterator[list[Case]]:
        order = self._order(self.epoch)
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        mine = batches[self.rank :: self.world_size][: len(self)]
        while self.consumed < len(mine):
            batch = mine[self.consumed]
            self.consumed += 1
            yield [self.cases[i] for i in batch]
        self.epoch, self.consumed = self.epoch + 1, 0

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "consumed": self.consumed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.consumed = int(state["epoch"]), int(state["consumed"])
        if self.consumed >= len(self):  # saved at the end of an epoch: the next one starts
            self.epoch, self.consumed = self.epoch + 1, 0
