"""Continuous batching for the doctor: a turn joins the running batch when it starts and leaves it
when it ends, so the batch stays full while patients answer.

`decode.sample` serves one turn of every episode per call: the rows start together, the batch
steps until its slowest row is done (rows that stopped early ride along as filler), and the next
call waits for every patient. Here one loop (`Batcher.serve`, a task on the rollout's event loop)
owns the running rows:

1. Requests that arrived (an episode's ids and its `SequenceCache`) are admitted together: one
   forward over their new chunks, with their caches as past (left-padded as in `decode.sample`),
   samples their first tokens; their keys and values join the running batch (both sides
   left-padded to the longer).
2. One decode forward feeds every running row its last sampled token and samples the next.
3. A row that sampled a stop id or reached `max_new_tokens` leaves: its real slots become its
   `SequenceCache` again (the last sampled token not yet fed, as after `decode.sample`) and its
   request resolves; columns only padding still uses are dropped.
4. Between steps the loop yields, so patient and judge calls progress while the doctor runs.

Each request samples from its own `torch.Generator`, so the tokens an episode draws do not
depend on which other rows share its batch or when its patient answered. What can still differ
from run to run is floating-point rounding of the batched matmuls (which rows are batched, and
their padding, depends on timing), as in any continuously batched server: a near-tie between two
tokens can go either way. `rollout.schedule: turns` is the exactly reproducible schedule.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from grpodx.decode import DecodeStats, SequenceCache, batch_past, left_pad, pick_next


@dataclass(eq=False)
class _Row:
    cache: SequenceCache
    """The ids fed before this turn and their keys and values; rewritten when the row leaves."""
    chunk: list[int]
    generator: torch.Generator | None
    done: asyncio.Future[list[int]]
    fed: list[int] = field(default_factory=list)
    """Fed in this turn: the chunk, then each sampled token but the last."""
    samples: list[int] = field(default_factory=list)


class Batcher:
    """Serves `generate` requests from many coroutines with one continuously batched decode loop."""

    def __init__(
        self,
        model: nn.Module,
        inference: Callable[[], AbstractContextManager],
        *,
        max_new_tokens: int,
        temperature: float,
        top_p: float,
        stop_ids: list[int],
        pad_id: int,
        max_rows: int | None = None,
        stats: DecodeStats | None = None,
    ) -> None:
        self.model, self.inference, self.max_rows = model, inference, max_rows
        self.max_new_tokens, self.temperature, self.top_p = max_new_tokens, temperature, top_p
        self.stop_ids, self.pad_id, self.stats = set(stop_ids), pad_id, stats
        self.device = next(model.parameters()).device
        self.waiting: list[_Row] = []
        self.rows: list[_Row] = []
        self.layers: list[tuple[Tensor, Tensor]] = []
        """Per layer (keys, values) of the running rows, [B, H, P, D], left-padded."""
        self.mask = torch.zeros(0, 0, dtype=torch.long, device=self.device)  # [B, P]
        self.positions = torch.zeros(0, dtype=torch.long, device=self.device)  # [B]: the next one
        self.busy_s = 0.0
        """Seconds spent in forward passes and sampling."""
        self._arrived = asyncio.Event()
        self.failed: Exception | None = None
        """The error `serve` died of; a batcher that failed serves no more."""

    def generate(self, prompt: list[int], cache: SequenceCache, generator: torch.Generator | None = None) -> asyncio.Future[list[int]]:
        """The continuation of `prompt` (ending at its first stop id, included); `cache` holds a
        proper prefix of it and is advanced to cover what was fed, as with `decode.sample`."""
        if prompt[: len(cache.ids)] != cache.ids or len(prompt) == len(cache.ids):
            raise ValueError("a KV cache must hold a proper prefix of its prompt (the sequence was rewritten)")
        if any((r.generator is None) != (generator is None) for r in self.waiting + self.rows):
            raise ValueError("give every request of a batcher its own generator, or none")
        row = _Row(cache, prompt[len(cache.ids) :], generator, asyncio.get_running_loop().create_future())
        if self.failed is not None:  # nobody is serving any more: say why instead of waiting forever
            row.done.set_exception(self.failed)
        else:
            self.waiting.append(row)
            self._arrived.set()
        return row.done

    async def serve(self) -> None:
        """Run until cancelled; a failure is passed to every request in flight, then raised.
        The model stays in inference mode (eval, no grad) meanwhile: nothing else may use it."""
        self._arrived = asyncio.Event()  # an Event belongs to the loop that first waits on it
        try:
            with self.inference():  # once: switching a PEFT model's mode costs a forward's time
                while True:
                    if not self.waiting and not self.rows:
                        self._arrived.clear()
                        await self._arrived.wait()
                    started = time.perf_counter()
                    if self.waiting:
                        self._admit()
                    if self.rows:
                        self._step()
                    self.busy_s += time.perf_counter() - started
                    await asyncio.sleep(0)  # let the patients' and judge's calls run
        except asyncio.CancelledError:  # stopped: no turn may wait on it for ever
            self._abandon(RuntimeError("the doctor's batcher was stopped with turns unfinished"))
            raise
        except Exception as error:
            self.failed = error
            self._abandon(error)
            raise

    def _abandon(self, error: Exception) -> None:
        for row in self.waiting + self.rows:
            if not row.done.done():
                row.done.set_exception(error)
        self.waiting, self.rows = [], []
        self.layers, self.mask, self.positions = [], self.mask[:0, :0], self.positions[:0]

    def _admit(self) -> None:
        room = len(self.waiting) if self.max_rows is None else self.max_rows - len(self.rows)
        rows = self.waiting[:room]  # they leave `waiting` only once admitted: a failure still reaches them
        if not rows:
            return
        past, past_mask = batch_past([r.cache for r in rows], self.device)
        ids, chunk_mask = left_pad([r.chunk for r in rows], self.pad_id, self.device)
        mask = torch.cat([past_mask, chunk_mask], dim=1)  # [b, P + W]
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0)  # [b, P + W]: real tokens only
        from transformers import DynamicCache

        kv = DynamicCache(ddp_cache_data=past) if past is not None else DynamicCache()
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=positions[:, -ids.shape[1] :], cache=kv, use_cache=True, logits_to_keep=1)
        self.waiting = self.waiting[len(rows) :]
        for row in rows:
            row.fed = list(row.chunk)
            row.cache.prefill_tokens += len(row.chunk)
        if self.stats is not None:
            self.stats.calls += 1
            self.stats.prefill_tokens += sum(len(r.chunk) for r in rows)
        self._join(rows, [(layer.keys, layer.values) for layer in out.cache.layers], mask, positions[:, -1] + 1)
        self._sample(out.logits[:, -1].float(), first=len(self.rows) - len(rows))

    def _step(self) -> None:
        tokens = torch.tensor([[r.samples[-1]] for r in self.rows], dtype=torch.long, device=self.device)  # [B, 1]
        mask = torch.cat([self.mask, torch.ones_like(tokens)], dim=1)  # [B, P + 1]
        from transformers import DynamicCache

        out = self.model(
            input_ids=tokens,
            attention_mask=mask,
            position_ids=self.positions.unsqueeze(1),
            cache=DynamicCache(ddp_cache_data=self.layers),
            use_cache=True,
            logits_to_keep=1,
        )
        for row in self.rows:
            row.fed.append(row.samples[-1])
        self.layers = [(layer.keys, layer.values) for layer in out.cache.layers]
        self.mask, self.positions = mask, self.positions + 1
        self._sample(out.logits[:, -1].float(), first=0)

    def _sample(self, logits: Tensor, first: int) -> None:
        """Sample the next token of rows[first:] from their logits [B - first, V]; retire the finished."""
        rows = self.rows[first:]
        generators = [r.generator for r in rows if r.generator is not None]  # all or none (generate)
        tokens = pick_next(logits, self.temperature, self.top_p, generators or None).tolist()
        for row, token in zip(rows, tokens):
            row.samples.append(int(token))
        if self.stats is not None:
            self.stats.decode_tokens += len(rows)
        finished = [i for i, r in enumerate(self.rows) if r.samples and (r.samples[-1] in self.stop_ids or len(r.samples) >= self.max_new_tokens)]
        if finished:
            self._retire(finished)

    def _join(self, rows: list[_Row], layers: list[tuple[Tensor, Tensor]], mask: Tensor, positions: Tensor) -> None:
        """Append rows (with their batched keys and values) to the running batch, left-padding both."""
        if not self.rows:
            self.rows, self.layers, self.mask, self.positions = rows, layers, mask, positions
            return
        width = max(self.mask.shape[1], mask.shape[1])
        self.layers = [(_cat_left(k0, k1, width), _cat_left(v0, v1, width)) for (k0, v0), (k1, v1) in zip(self.layers, layers)]
        self.mask = _cat_left(self.mask, mask, width)
        self.positions = torch.cat([self.positions, positions])
        self.rows = self.rows + rows

    def _retire(self, finished: list[int]) -> None:
        """Rows that are done leave: their real slots become their SequenceCache again."""
        for i in finished:
            row = self.rows[i]
            slots = self.mask[i].nonzero().squeeze(1)  # [n]
            row.cache.layers = [(keys[i][:, slots].clone(), values[i][:, slots].clone()) for keys, values in self.layers]
            row.cache.ids = row.cache.ids + row.fed
            assert len(row.cache.ids) == len(slots), "KV cache and ids out of step"
            if not row.done.done():  # a cancelled request's future is already done
                row.done.set_result(row.samples)
        keep = [i for i in range(len(self.rows)) if i not in set(finished)]
        self.rows = [self.rows[i] for i in keep]
        if not keep:
            self.layers, self.mask, self.positions = [], self.mask[:0, :0], self.positions[:0]
            return
        index = torch.tensor(keep, device=self.device)
        mask = self.mask.index_select(0, index)
        start = int(mask.any(dim=0).nonzero()[0])  # leading columns that are padding in every row left
        self.mask = mask[:, start:]
        self.layers = [(keys.index_select(0, index)[:, :, start:], values.index_select(0, index)[:, :, start:]) for keys, values in self.layers]
        self.positions = self.positions.index_select(0, index)


def _cat_left(a: Tensor, b: Tensor, width: int) -> Tensor:
    """Stack a [B1, ..., P1(, D)] and b [B2, ..., P2(, D)] on dim 0, left-padding the sequence dim to width."""
    dim = 1 if a.dim() == 2 else 2  # masks [B, P]; keys and values [B, H, P, D]
    return torch.cat([_pad_left(a, width, dim), _pad_left(b, width, dim)])


def _pad_left(x: Tensor, width: int, dim: int) -> Tensor:
    missing = width - x.shape[dim]
    if not missing:
        return x
    shape = list(x.shape)
    shape[dim] = missing
    return torch.cat([x.new_zeros(shape), x], dim=dim)
