"""Supervised next-token training on conversations: the one loop that the warm-up and the tiny
model's build share.

1. A conversation becomes (token ids, doctor mask) exactly as the rollout would hold it, had the
   doctor written it: the prompt with its generation prompt, then per doctor turn its ids and
   stop token (mask 1) and the patient's template delta (mask 0) (`conversation_ids`).
2. Each step samples `batch_size` rows, right-pads them (`rollout.padding.pack_rows`, as the GRPO
   batch is packed) and minimises the mean negative log-prob of the doctor's tokens with AdamW.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence

import torch
from torch import Tensor, nn

from grpodx.rollout.padding import pack_rows
from grpodx.rollout.template import ChatTokens
from grpodx.types import ChatMessage

Row = tuple[list[int], list[int]]
"""(token ids, doctor mask) of one conversation."""
LogProbs = Callable[[Tensor, Tensor, Tensor], Tensor]
"""(input_ids [N, T], attention_mask [N, T], where [N, T-1]) -> next-token log-probs [N, T-1]."""


def conversation_ids(chat: ChatTokens, messages: list[ChatMessage], stop_id: int) -> Row:
    """(token ids, doctor mask) as the rollout would hold them had the doctor written this.
    `messages`: system, user, then assistant and user turns in turn, ending on the assistant."""
    ids = chat.prompt_ids(messages[:2])
    mask = [0] * len(ids)
    for i in range(2, len(messages), 2):
        doctor = chat.encode(messages[i]["content"]) + [stop_id]
        ids += doctor
        mask += [1] * len(doctor)
        if i + 1 < len(messages):
            delta = chat.patient_delta(messages[:i], messages[i]["content"], True, messages[i + 1]["content"])
            ids += delta
            mask += [0] * len(delta)
    return ids, mask


def causal_lm_log_probs(model: nn.Module) -> LogProbs:
    """`LogProbs` of a plain transformers causal LM (full logits: for small models)."""

    def log_probs(ids: Tensor, attention: Tensor, where: Tensor) -> Tensor:
        logits = model(input_ids=ids, attention_mask=attention).logits[:, :-1].float()  # [N, T-1, V]
        picked = logits.gather(-1, ids[:, 1:, None]).squeeze(-1) - logits.logsumexp(-1)  # [N, T-1]
        return picked * where

    return log_probs


def supervised_steps(
    log_probs: LogProbs,
    params: Sequence[nn.Parameter],
    rows: Sequence[Row],
    pad_id: int,
    *,
    steps: int,
    lr: float,
    batch_size: int,
    seed: int,
    max_grad_norm: float | None = 1.0,
    device: torch.device | str = "cpu",
    progress: Callable[[range], Iterable[int]] | None = None,
) -> list[float]:
    """`steps` AdamW steps on `params` over batches of `rows` (doctor tokens only); the losses.
    `max_grad_norm=None` leaves the gradients unclipped; `progress` wraps the steps (a progress bar)."""
    if not rows:
        raise ValueError("supervised_steps needs at least one conversation")
    optimizer = torch.optim.AdamW(params, lr=lr)
    rng, losses = random.Random(seed), []
    for _ in progress(range(steps)) if progress else range(steps):
        batch = rng.sample(list(rows), min(batch_size, len(rows)))
        ids, attention, where = (t.to(device) for t in pack_rows(batch, pad_id))  # [n, T], [n, T], [n, T-1]
        mask = where.float()
        loss = -(log_probs(ids, attention, mask) * mask).sum() / mask.sum()
        loss.backward()
        if max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
        optimizer.step()
        optimizer.zero_grad()
        losses.append(float(loss.detach()))
    return losses
