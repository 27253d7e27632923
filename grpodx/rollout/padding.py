"""Lists of token ids of different lengths as one padded tensor: the one place that pads.

Training pads on the right (`pack`, the warm-up, the tiny model's build); batched generation
pads on the left, so that every row's next token lands in the last column.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def pad_ids(rows: Sequence[Sequence[int]], pad_id: int, left: bool = False) -> tuple[Tensor, Tensor]:
    """(ids [N, T], mask [N, T]): `rows` padded with `pad_id` to the longest, on the right (or
    `left`), and 1 where a row's own values are.

    >>> ids, mask = pad_ids([[5, 6, 7], [8]], pad_id=0)
    >>> ids.tolist(), mask.tolist()
    ([[5, 6, 7], [8, 0, 0]], [[1, 1, 1], [1, 0, 0]])
    >>> pad_ids([[5, 6, 7], [8]], pad_id=0, left=True)[0].tolist()
    [[5, 6, 7], [0, 0, 8]]
    """
    if not rows:
        raise ValueError("pad_ids needs at least one row")
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, row in enumerate(rows):
        span = slice(width - len(row), width) if left else slice(0, len(row))
        ids[i, span] = torch.tensor(list(row), dtype=torch.long)
        mask[i, span] = 1
    return ids, mask


def pack_rows(rows: Sequence[tuple[Sequence[int], Sequence[int]]], pad_id: int) -> tuple[Tensor, Tensor, Tensor]:
    """(input_ids [N, T], attention_mask [N, T], loss_mask [N, T-1]) from (token ids, doctor mask)
    rows: the loss mask is shifted by one, 1 where the NEXT token was written by the doctor.

    >>> ids, attention, loss = pack_rows([([1, 2, 3], [0, 1, 1]), ([4, 5], [0, 1])], pad_id=0)
    >>> ids.tolist(), attention.tolist(), loss.tolist()
    ([[1, 2, 3], [4, 5, 0]], [[1, 1, 1], [1, 1, 0]], [[1, 1], [1, 0]])
    """
    ids, attention = pad_ids([ids for ids, _ in rows], pad_id)
    doctor, _ = pad_ids([mask for _, mask in rows], 0)
    return ids, attention, doctor[:, 1:].clone()
