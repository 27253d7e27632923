"""Batched sampling over the model's forward, with each sequence's KV cache kept between calls.

`transformers.generate` re-encodes the whole conversation every doctor turn. Here a sequence
owns a `SequenceCache` (the keys and values of the ids it has already fed): a call feeds only
what was appended since (the last sampled token and the patient's reply) and samples.

1. Each row's cache is left-padded to the longest and stacked into one model cache; its new
   ids are left-padded to the longest chunk. A 2D attention mask hides both paddings and the
   position ids count only real tokens, so every row sees exactly its own sequence.
2. One forward over the chunks (logits at the last position only), then one token per step
   for every row until each has sampled a stop id or `max_new_tokens`; a step writes its keys and
   values into a buffer with room for the whole budget (`kv_cache.with_room`), not a fresh copy of the
   cache. Rows that start from an empty cache with the same prompt (a group's attempts at one
   case) share one encoding.
3. Sampling follows `generate`'s warpers: logits in float32 / temperature, top-p as
   `TopPLogitsWarper` (keep the smallest set whose mass reaches top_p, at least one token),
   `torch.multinomial` on torch's global RNG (or the given generator); temperature 0 is greedy.
4. Each row's cache is cut back to its real slots (padding and finished rows' filler dropped),
   so it holds exactly the ids it was fed, in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from grpodx.rollout.kv_cache import CACHE_ARG, cache_layers, new_cache, returned_cache, with_room
from grpodx.rollout.padding import pad_ids


@dataclass
class SequenceCache:
    """The model's keys and values for `ids` (one sequence, no padding)."""

    ids: list[int] = field(default_factory=list)
    layers: list[tuple[Tensor, Tensor]] = field(default_factory=list)
    """Per layer (keys, values), each [heads, len(ids), head_dim]."""
    prefill_tokens: int = 0
    """Tokens this sequence fed as prompt (everything but the one-token decode steps)."""


@dataclass
class DecodeStats:
    """Counters over every call, for benchmarks."""

    prefill_tokens: int = 0
    shared_prefill_tokens: int = 0
    """Of `prefill_tokens`, those copied from another row that had the same prompt (not encoded)."""
    decode_tokens: int = 0
    calls: int = 0
    """Prefill forwards: one per call."""
    step_forwards: int = 0
    """One-token forwards after each call's prefill."""
    step_rows: int = 0
    """Rows over those forwards (a row that has stopped rides along until its call ends)."""


def pick_next(logits: Tensor, temperature: float, top_p: float, generator: torch.Generator | None = None) -> Tensor:
    """Next token per row from float logits [B, V] -> [B], with `generate`'s sampling semantics."""
    if temperature <= 0:
        return logits.argmax(dim=-1)
    scores = logits / temperature  # [B, V]
    if top_p < 1.0:
        ordered, order = torch.sort(scores, descending=False)  # [B, V]
        remove = ordered.softmax(dim=-1).cumsum(dim=-1) <= (1 - top_p)  # [B, V]
        remove[..., -1:] = False  # keep at least the most likely token
        scores = scores.masked_fill(remove.scatter(1, order, remove), -float("inf"))
    return torch.multinomial(scores.softmax(dim=-1), 1, generator=generator).squeeze(1)


def _batch_past(caches: list[SequenceCache], device: torch.device) -> tuple[list[tuple[Tensor, Tensor]] | None, Tensor]:
    """Left-pad every cache to the longest: per-layer [B, H, P, D] and the mask [B, P]."""
    width = max(len(c.ids) for c in caches)
    mask = torch.zeros(len(caches), width, dtype=torch.long, device=device)
    if width == 0:
        return None, mask
    template = next(c for c in caches if c.ids).layers
    layers = []
    for layer, (k0, v0) in enumerate(template):
        keys = k0.new_zeros(len(caches), k0.shape[0], width, k0.shape[2])  # [B, H, P, D]
        values = v0.new_zeros(len(caches), v0.shape[0], width, v0.shape[2])
        for row, cache in enumerate(caches):
            n = len(cache.ids)
            if n:
                keys[row, :, width - n :], values[row, :, width - n :] = cache.layers[layer]
        layers.append((keys, values))
    for row, cache in enumerate(caches):
        mask[row, width - len(cache.ids) :] = 1
    return layers, mask


def _unbatch(cache, mask: Tensor, caches: list[SequenceCache], fed: list[list[int]]) -> None:
    """Keep each row's real slots (mask == 1) as its new SequenceCache, in order."""
    for row, sequence in enumerate(caches):
        slots = mask[row].nonzero().squeeze(1)  # [n_row]
        sequence.layers = [(keys[row][:, slots].clone(), values[row][:, slots].clone()) for keys, values in cache_layers(cache)]
        sequence.ids = sequence.ids + fed[row]
        assert len(sequence.ids) == len(slots), "KV cache and ids out of step"


def _prefill(
    model: nn.Module, chunks: list[list[int]], caches: list[SequenceCache], pad_id: int, device: torch.device, stats: DecodeStats | None
) -> tuple[Tensor, Tensor, Tensor, Any]:
    """One forward over every row's new chunk on top of its cache: the mask [B, P + W], the
    position ids [B, P + W], the last position's logits [B, V] and the batch's model cache.

    Rows that start from nothing with the same prompt (a group's attempts at one case, on their
    first turn) are encoded once and their keys and values copied: the prompt's prefill is paid
    per case, not per attempt."""
    past, past_mask = _batch_past(caches, device)
    ids, chunk_mask = (t.to(device) for t in pad_ids(chunks, pad_id, left=True))
    mask = torch.cat([past_mask, chunk_mask], dim=1)  # [B, P + W]
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0)  # [B, P + W]: real tokens only
    if past is None:
        first: dict[tuple[int, ...], int] = {}
        rows = torch.tensor([first.setdefault(tuple(c), i) for i, c in enumerate(chunks)], device=device)  # [B]: the row it is encoded in
        unique, back = rows.unique(return_inverse=True)  # [U] rows encoded; [B] each row's place among them
        if len(unique) < len(chunks):
            logits, encoded = _forward(model, ids[unique], mask[unique], positions[unique], new_cache())
            if stats is not None:
                stats.shared_prefill_tokens += sum(len(c) for c in chunks) - sum(len(chunks[i]) for i in unique.tolist())
            layers = [(keys[back], values[back]) for keys, values in cache_layers(encoded)]
            return mask, positions, logits[back], new_cache(layers)
    kv = new_cache(past)
    logits, kv = _forward(model, ids, mask, positions[:, -ids.shape[1] :], kv)
    return mask, positions, logits, kv


def _forward(model: nn.Module, ids: Tensor, mask: Tensor, positions: Tensor, kv: Any) -> tuple[Tensor, Any]:
    """One forward of `ids` [B, W] on top of the cache `kv`: the last position's logits [B, V] and the grown cache."""
    out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True, logits_to_keep=1, **{CACHE_ARG: kv})
    return out.logits[:, -1], returned_cache(out)


@torch.no_grad()
def sample(
    model: nn.Module,
    prompts: list[list[int]],
    caches: list[SequenceCache],
    *,
    max_new_tokens: int,
    temperature: float,
    top_p: float,
    stop_ids: list[int],
    pad_id: int,
    stats: DecodeStats | None = None,
    generator: torch.Generator | None = None,
) -> list[list[int]]:
    """Sample a continuation of each prompt; `caches[i]` must hold a prefix of `prompts[i]` and is
    advanced to cover what was fed. Each output ends at its first stop id (included)."""
    device = next(model.parameters()).device
    chunks = []
    for prompt, cache in zip(prompts, caches):
        if prompt[: len(cache.ids)] != cache.ids or len(prompt) == len(cache.ids):
            raise ValueError("a KV cache must hold a proper prefix of its prompt (the sequence was rewritten)")
        chunks.append(prompt[len(cache.ids) :])
        cache.prefill_tokens += len(chunks[-1])
    mask, positions, logits, kv = _prefill(model, chunks, caches, pad_id, device, stats)
    kv = with_room(kv, max_new_tokens - 1)
    stops = torch.tensor(stop_ids, device=device)
    fed = [list(c) for c in chunks]
    samples: list[list[int]] = [[] for _ in prompts]
    active = torch.ones(len(prompts), dtype=torch.bool, device=device)
    next_position = positions[:, -1] + 1  # [B]
    steps = 0  # one-token forwards after the prefill
    for step in range(max_new_tokens):
        token = pick_next(logits.float(), temperature, top_p, generator)  # [B]
        values = token.tolist()
        for row in active.nonzero().squeeze(1).tolist():
            samples[row].append(values[row])
        active = active & ~torch.isin(token, stops)
        if step + 1 == max_new_tokens or not bool(active.any()):
            break
        # a row still going feeds its token; a finished row feeds masked filler, dropped later, so
        # the last sampled token (a stop id or the budget's last) is always fed with the next call
        for row in active.nonzero().squeeze(1).tolist():
            fed[row].append(values[row])
        mask = torch.cat([mask, active.long().unsqueeze(1)], dim=1)
        token = torch.where(active, token, torch.full_like(token, pad_id))
        logits, kv = _forward(model, token.unsqueeze(1), mask, next_position.unsqueeze(1), kv)
        next_position = next_position + 1
        steps += 1
    _unbatch(kv, mask, caches, fed)
    if stats is not None:
        stats.calls += 1
        stats.step_forwards += steps
        stats.step_rows += steps * len(prompts)
        stats.prefill_tokens += sum(len(c) for c in chunks)
        stats.decode_tokens += sum(len(s) for s in samples)
    return samples
