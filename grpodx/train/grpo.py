"""GRPO loss math as pure tensor functions: advantages, clipped surrogate, k3 KL, aggregation.

Follows DeepSeekMath's GRPO with the later fixes, and departs from the paper where noted:
1. Advantages are mean-centred per group; dividing by the group std is optional
   (`scale="group"`, the paper; `"batch"`, one std for the whole batch; `"none"`, Dr. GRPO),
   because the group std up-weights near-unanimous groups.
2. The clip range is asymmetric (`epsilon_low`, `epsilon_high`, DAPO's clip-higher) so that
   unlikely tokens with positive advantage can still grow.
3. KL is the k3 estimator to the reference model, added to the per-token loss with weight beta.
4. Aggregation: `token` averages over every doctor token in the batch (DAPO), `sequence` averages
   each episode first (the paper), `dr_grpo` divides by a constant token budget (Dr. GRPO), so
   long answers are not favoured.
Episodes that must not train (env_error, truncated) carry valid=False: they leave the group's
statistics and get a zero advantage; a group with fewer than two valid episodes is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from grpodx.run.knobs import require

Scale = Literal["group", "batch", "none"]
Aggregation = Literal["token", "sequence", "dr_grpo"]


@dataclass
class GRPOConfig:
    """The GRPO update: clipping, KL to the base model, reward scaling and loss aggregation."""

    epsilon_low: float = 0.2
    """Lower clip of the probability ratio (PPO's epsilon): 1 - epsilon_low."""
    epsilon_high: float = 0.28
    """Clip-higher (DAPO): a wider upper clip lets unlikely good tokens grow."""
    beta: float = 0.04
    """Weight of the k3 KL to the base model (adapter disabled); 0 skips the reference pass."""
    scale_rewards: Scale = "group"
    """Divide advantages by the group's reward std ('group'), the batch's ('batch'), or not ('none')."""
    aggregation: Aggregation = "token"
    """Loss average: over all doctor tokens ('token'), per episode then over episodes ('sequence'),
    or over a constant token budget ('dr_grpo')."""
    mu: int = 1
    """Optimizer steps on each batch of rollouts; old log-probs are kept when > 1."""
    micro_batch_size: int = 4
    """Episodes per forward/backward pass."""
    token_budget: int | None = None
    """dr_grpo's constant denominator per episode; default max_turns * max_new_tokens."""
    kl_on_zero_advantage: bool = True
    """Keep the KL term of zero-advantage episodes once the adapter has moved (exact; they cost a
    policy and a reference pass). False skips them: cheaper, the loss drops their beta * KL."""

    def __post_init__(self) -> None:
        require(
            "model.grpo",
            {
                "epsilon_low": (0 <= self.epsilon_low < 1, "in [0, 1)"),
                "epsilon_high": (self.epsilon_high >= 0, ">= 0"),
                "beta": (self.beta >= 0, ">= 0"),
                "mu": (self.mu >= 1, ">= 1"),
                "micro_batch_size": (self.micro_batch_size >= 1, ">= 1"),
                "token_budget": (self.token_budget is None or self.token_budget >= 1, "empty or >= 1"),
            },
            self,
        )


def group_advantages(rewards: Tensor, valid: Tensor, scale: Scale = "group", eps: float = 1e-4) -> Tensor:
    """Advantages for rewards shaped [groups, group_size]; invalid episodes get 0.

    rewards [B, G] -> A [B, G], with A = (r - mean_group(r)) / std, std per `scale`.
    """
    valid = valid.bool()
    counts = valid.sum(dim=1, keepdim=True)  # [B, 1]
    usable = valid & (counts >= 2)  # [B, G]: a lone episode has no baseline
    masked = torch.where(usable, rewards, torch.zeros_like(rewards))  # [B, G]
    mean = masked.sum(dim=1, keepdim=True) / counts.clamp(min=1)  # [B, 1]
    centred = torch.where(usable, rewards - mean, torch.zeros_like(rewards))  # [B, G]
    if scale == "none":
        return centred
    if scale == "group":
        var = (centred**2).sum(dim=1, keepdim=True) / (counts - 1).clamp(min=1)  # [B, 1]
        std = var.sqrt()
    elif scale == "batch":
        n = usable.sum()
        std = ((centred**2).sum() / (n - 1).clamp(min=1)).sqrt() if n > 1 else rewards.new_tensor(0.0)
    else:
        raise ValueError(f"scale must be 'group', 'batch' or 'none', got {scale!r}")
    return torch.where(std > 0, centred / (std + eps), centred)  # all-equal groups stay 0


def zero_variance_groups(rewards: Tensor, valid: Tensor) -> Tensor:
    """Bool [B]: groups whose valid rewards are all equal (no learning signal), or < 2 valid."""
    valid = valid.bool()
    high = torch.where(valid, rewards, torch.full_like(rewards, -torch.inf)).amax(dim=1)
    low = torch.where(valid, rewards, torch.full_like(rewards, torch.inf)).amin(dim=1)
    return (valid.sum(dim=1) < 2) | (high - low <= 1e-8)


def k3_kl(logp: Tensor, ref_logp: Tensor) -> Tensor:
    """Per-token k3 estimate of KL(policy || reference): exp(d) - d - 1 with d = ref - logp, >= 0."""
    delta = ref_logp - logp
    return torch.exp(delta) - delta - 1


def clipped_surrogate(logp: Tensor, old_logp: Tensor, advantages: Tensor, epsilon_low: float, epsilon_high: float) -> tuple[Tensor, Tensor]:
    """Per-token PPO-clip loss (to minimise) and a bool mask of tokens where clipping was active.

    logp, old_logp [N, T]; advantages [N] -> loss [N, T], clipped [N, T].
    """
    ratio = torch.exp(logp - old_logp)  # [N, T]
    adv = advantages.unsqueeze(1)  # [N, 1]
    unclipped = ratio * adv  # [N, T]
    clipped = ratio.clamp(1 - epsilon_low, 1 + epsilon_high) * adv  # [N, T]
    loss = -torch.minimum(unclipped, clipped)  # [N, T]
    return loss, clipped < unclipped


def aggregate(per_token: Tensor, mask: Tensor, mode: Aggregation, normalizer: float) -> Tensor:
    """Reduce per-token losses [N, T] under mask [N, T] to a scalar.

    `normalizer` makes micro-batches add up to the full-batch loss: the batch's total doctor
    tokens (`token`), its number of episodes (`sequence`, `dr_grpo`). For `dr_grpo` the caller
    also folds in the constant token budget (see `loss_normalizer`).
    """
    mask = mask.to(per_token.dtype)
    if mode == "sequence":
        per_episode = (per_token * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)  # [N]
        return per_episode.sum() / normalizer
    if mode in ("token", "dr_grpo"):
        return (per_token * mask).sum() / normalizer
    raise ValueError(f"aggregation must be 'token', 'sequence' or 'dr_grpo', got {mode!r}")


def loss_normalizer(mask: Tensor, mode: Aggregation, token_budget: int, reduce: Callable[[Tensor], Tensor] | None = None) -> float:
    """The full batch's denominator for `aggregate`; mask [N, T] covers every trained episode.

    `reduce` sums the counts over processes (data parallel), so that every rank divides by the
    whole batch's count and the ranks' gradients add up to the full batch's.
    """
    counts = torch.tensor([float(mask.sum()), float((mask.sum(dim=1) > 0).sum())])  # tokens, episodes
    tokens, episodes = (reduce(counts) if reduce else counts).tolist()
    if mode == "token":
        return max(tokens, 1.0)
    episodes = max(episodes, 1.0)
    return episodes * token_budget if mode == "dr_grpo" else episodes


@dataclass
class LossStats:
    """Detached statistics of one loss evaluation (sums, so micro-batches add up).

    `clipped_low_sum` counts tokens held at 1 - epsilon_low (ratio below it, negative advantage),
    `clipped_high_sum` those held at 1 + epsilon_high (ratio above it, positive advantage): TRL's
    clip_ratio/low_mean and clip_ratio/high_mean; together they are `clip_fraction`.
    """

    tokens: float = 0.0
    kl_sum: float = 0.0
    clipped_sum: float = 0.0
    ratio_sum: float = 0.0
    clipped_low_sum: float = 0.0
    clipped_high_sum: float = 0.0
    entropy_sum: float = 0.0
    """Summed per-token entropy of the policy at the doctor's tokens (0 where not measured)."""
    grad_norm: float = 0.0
    """Total L2 norm of the gradient before clipping, averaged over the update's optimizer steps
    (set once by the update, not summed)."""
    learning_rate: float = 0.0
    """The learning rate of the update's last optimizer step (set once, not summed)."""

    def add(self, other: LossStats) -> None:
        for name in ("tokens", "kl_sum", "clipped_sum", "ratio_sum", "clipped_low_sum", "clipped_high_sum", "entropy_sum"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def means(self) -> dict[str, float]:
        n = max(self.tokens, 1.0)
        return {
            "kl": self.kl_sum / n,
            "clip_fraction": self.clipped_sum / n,
            "clip_ratio/low_mean": self.clipped_low_sum / n,
            "clip_ratio/high_mean": self.clipped_high_sum / n,
            "ratio": self.ratio_sum / n,
            "entropy": self.entropy_sum / n,
            "grad_norm": self.grad_norm,
            "learning_rate": self.learning_rate,
        }


def grpo_loss(
    logp: Tensor,
    old_logp: Tensor,
    ref_logp: Tensor | None,
    advantages: Tensor,
    mask: Tensor,
    *,
    epsilon_low: float,
    epsilon_high: float,
    beta: float,
    aggregation: Aggregation,
    normalizer: float,
) -> tuple[Tensor, LossStats]:
    """The GRPO objective for one micro-batch: logp/old_logp/ref_logp/mask [N, T], advantages [N]."""
    per_token, clipped = clipped_surrogate(logp, old_logp, advantages, epsilon_low, epsilon_high)  # [N, T]
    kl = k3_kl(logp, ref_logp) if ref_logp is not None else torch.zeros_like(logp)  # [N, T]
    if beta:
        per_token = per_token + beta * kl
    loss = aggregate(per_token, mask, aggregation, normalizer)
    m = mask.bool()
    with torch.no_grad():
        ratio = torch.exp(logp - old_logp)  # [N, T]
        adv = advantages.unsqueeze(1)  # [N, 1]
        low = (ratio < 1 - epsilon_low) & (adv < 0)  # [N, T]
        high = (ratio > 1 + epsilon_high) & (adv > 0)  # [N, T]
        stats = LossStats(
            tokens=float(m.sum()),
            kl_sum=float(kl[m].sum()),
            clipped_sum=float(clipped[m].sum()),
            ratio_sum=float(ratio[m].sum()),
            clipped_low_sum=float(low[m].sum()),
            clipped_high_sum=float(high[m].sum()),
        )
    return loss, stats
