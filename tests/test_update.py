"""The lean update: log-probs only at doctor positions, and no work where there is no signal,
with the loss and gradient unchanged wherever the skipping claims to be exact."""

import pytest
import torch

from grpodx.policy.policy import PolicyConfig
from grpodx.rollout.engine import PackedBatch, RolloutConfig
from grpodx.train.grpo import GRPOConfig, grpo_loss, loss_normalizer
from grpodx.train.module import DoctorGRPO


@pytest.fixture(scope="module")
def module(model_cache):
    # fp32: the lean and plain updates are compared to 1e-6 (see tiny_policy in conftest.py)
    return DoctorGRPO(policy=PolicyConfig(cache_dir=model_cache, max_seq_len=1024, precision="fp32"))


def batch(advantages):
    generator = torch.Generator().manual_seed(0)
    n, t = len(advantages), 48
    ids = torch.randint(5, 2000, (n, t), generator=generator)
    attention = torch.ones_like(ids)
    attention[1, 40:] = 0  # a shorter, right-padded episode
    loss_mask = torch.zeros(n, t - 1, dtype=torch.long)
    loss_mask[:, 20:30] = 1  # a doctor turn
    loss_mask[:, 34:39] = 1  # and a second one
    return PackedBatch(ids, attention, loss_mask, torch.tensor(advantages))


def full_loss(module, b, normalizer):
    """The plain update: every row, every position's logits, a true reference pass."""
    t, policy = module.rollout_config.temperature, module.policy
    logits = policy.model(input_ids=b.input_ids, attention_mask=b.attention_mask).logits[:, :-1].float() / t
    logp = torch.log_softmax(logits, -1).gather(-1, b.input_ids[:, 1:, None]).squeeze(-1)
    ref = policy.reference_log_probs(b.input_ids, b.attention_mask, t) if module.grpo.beta else None
    g = module.grpo
    return grpo_loss(
        logp,
        logp.detach(),
        ref,
        b.advantages,
        b.loss_mask,
        epsilon_low=g.epsilon_low,
        epsilon_high=g.epsilon_high,
        beta=g.beta,
        aggregation=g.aggregation,
        normalizer=normalizer,
    )[0]


def lean_loss(module, b, normalizer):
    """What `DoctorGRPO.update` does: rows with signal, doctor positions, the reference skipped at the base."""
    base = module.policy.adapter_is_base()
    rows = module.rows_with_signal(b.advantages.tolist(), base)
    if not rows:
        return None
    old, ref = module.fixed_log_probs(b, rows, base)
    return module.micro_loss(b, rows, old, ref, normalizer)[0]


def loss_and_grad(module, fn, b):
    normalizer = loss_normalizer(b.loss_mask, module.grpo.aggregation, 10)
    module.policy.zero_grad()
    loss = fn(module, b, normalizer)
    if loss is None:
        return 0.0, None
    loss.backward()
    grads = torch.cat([p.grad.flatten() if p.grad is not None else torch.zeros(p.numel()) for p in module.policy.parameters() if p.requires_grad])
    return float(loss), grads


def moved_adapter(module, std):
    lora_b = [p for n, p in module.policy.named_parameters() if "lora_B" in n]
    with torch.no_grad():
        for i, p in enumerate(lora_b):
            p.copy_(torch.randn(p.shape, generator=torch.Generator().manual_seed(i)) * std)


@pytest.mark.parametrize(
    ("beta", "moved", "advantages"),
    [
        (0.04, False, [0.7, 0.0, -0.7, 0.0]),  # the first step: zero-advantage rows and the reference pass skipped
        (0.04, True, [0.7, 0.0, -0.7, 0.0]),  # the adapter moved: zero-advantage rows keep their KL term
        (0.0, True, [0.7, 0.0, -0.7, 0.0]),  # no KL: zero-advantage rows skipped
        (0.04, False, [0.0, 0.0, 0.0, 0.0]),  # no signal at the base: nothing runs, and nothing was lost
    ],
)
def test_the_lean_update_has_the_plain_loss_and_gradient(module, beta, moved, advantages):
    module.grpo = GRPOConfig(beta=beta)
    moved_adapter(module, 0.05 if moved else 0.0)
    assert module.policy.adapter_is_base() is not moved
    b = batch(advantages)
    full, full_grad = loss_and_grad(module, full_loss, b)
    lean, lean_grad = loss_and_grad(module, lean_loss, b)
    assert lean == pytest.approx(full, abs=1e-6)
    if lean_grad is None:  # nothing ran: the plain gradient is zero too
        assert full_grad.abs().max() < 1e-7
    else:
        assert torch.allclose(lean_grad, full_grad, atol=1e-6), (lean_grad - full_grad).abs().max()
    moved_adapter(module, 0.0)


def test_skipping_the_kl_of_silent_rows_drops_exactly_their_kl(module):
    module.grpo = GRPOConfig(beta=0.04, kl_on_zero_advantage=False)
    moved_adapter(module, 0.05)
    b = batch([0.7, 0.0, -0.7, 0.0])
    normalizer = loss_normalizer(b.loss_mask, "token", 10)
    lean = float(lean_loss(module, b, normalizer))
    full = float(full_loss(module, b, normalizer))
    silent = [1, 3]
    t = module.rollout_config.temperature
    with torch.no_grad():
        logp = module.policy.log_probs(b.input_ids[silent], b.attention_mask[silent], t)
        ref = module.policy.reference_log_probs(b.input_ids[silent], b.attention_mask[silent], t)
        kl = (torch.exp(ref - logp) - (ref - logp) - 1) * b.loss_mask[silent]
    assert full - lean == pytest.approx(0.04 * float(kl.sum()) / normalizer, rel=1e-4) and full > lean
    moved_adapter(module, 0.0)


def test_log_probs_only_at_doctor_positions_match_the_full_softmax(module):
    b = batch([1.0, 1.0, 1.0, 1.0])
    where = b.loss_mask.bool()
    policy = module.policy
    with torch.no_grad():
        full = policy.log_probs(b.input_ids, b.attention_mask, 0.7)
        lean = policy.log_probs(b.input_ids, b.attention_mask, 0.7, where)
    assert torch.allclose(lean[where], full[where], atol=1e-5) and not lean[~where].any()


def test_training_refuses_top_p_below_one(model_cache):
    with pytest.raises(ValueError, match="rollout.top_p must be 1"):
        DoctorGRPO(policy=PolicyConfig(cache_dir=model_cache), rollout=RolloutConfig(top_p=0.9))
