"""The loss math against hand-derived numbers."""

import math

import pytest
import torch

from grpodx.train.grpo import aggregate, clipped_surrogate, group_advantages, grpo_loss, k3_kl, loss_normalizer, zero_variance_groups


def test_group_advantages_mean_centred_and_group_scaled():
    # group [1, 0, 0, 1]: mean 0.5, centred [.5,-.5,-.5,.5], unbiased std sqrt(4*.25/3)=sqrt(1/3)
    rewards = torch.tensor([[1.0, 0.0, 0.0, 1.0], [2.0, 2.0, 2.0, 2.0]])
    valid = torch.ones_like(rewards, dtype=torch.bool)
    adv = group_advantages(rewards, valid, "group", eps=0.0)
    expected = 0.5 / math.sqrt(1 / 3)
    assert torch.allclose(adv[0], torch.tensor([expected, -expected, -expected, expected]))
    assert torch.equal(adv[1], torch.zeros(4))  # zero-variance group: no signal, no NaN
    assert torch.allclose(group_advantages(rewards, valid, "none")[0], torch.tensor([0.5, -0.5, -0.5, 0.5]))


def test_batch_scaling_uses_one_std():
    # centred values: [.5,-.5] and [1,-1]; batch unbiased std = sqrt((.25+.25+1+1)/3) = sqrt(2.5/3)
    rewards = torch.tensor([[1.0, 0.0], [2.0, 0.0]])
    adv = group_advantages(rewards, torch.ones(2, 2, dtype=torch.bool), "batch", eps=0.0)
    std = math.sqrt(2.5 / 3)
    assert torch.allclose(adv, torch.tensor([[0.5, -0.5], [1.0, -1.0]]) / std)


def test_invalid_episodes_leave_the_group_and_lone_survivors_are_dropped():
    # group 0: the invalid 5.0 must not move the mean of [1, 0, 1] (2/3); group 1 has one valid episode
    rewards = torch.tensor([[1.0, 0.0, 1.0, 5.0], [1.0, 9.0, 9.0, 9.0]])
    valid = torch.tensor([[True, True, True, False], [True, False, False, False]])
    adv = group_advantages(rewards, valid, "none")
    assert torch.allclose(adv[0], torch.tensor([1 / 3, -2 / 3, 1 / 3, 0.0]))
    assert torch.equal(adv[1], torch.zeros(4))
    assert zero_variance_groups(rewards, valid).tolist() == [False, True]


def test_k3_kl_is_zero_at_equality_and_matches_formula():
    logp = torch.tensor([-1.0, -2.0])
    ref = torch.tensor([-1.0, -1.5])
    # d = ref - logp = [0, .5]; k3 = e^d - d - 1 = [0, e^.5 - 1.5]
    assert torch.allclose(k3_kl(logp, ref), torch.tensor([0.0, math.exp(0.5) - 1.5]))


def test_clipped_surrogate_clips_asymmetrically():
    # ratios e^0.5 = 1.6487 (above 1+0.28) and e^-0.5 = 0.6065 (below 1-0.2)
    logp = torch.tensor([[0.5, -0.5]])
    old = torch.zeros(1, 2)
    loss_pos, clipped_pos = clipped_surrogate(logp, old, torch.tensor([1.0]), 0.2, 0.28)
    # A > 0: min(r*A, clip(r)*A) -> [1.28, 0.6065]: the high ratio is clipped, the low is not
    assert torch.allclose(loss_pos, -torch.tensor([[1.28, math.exp(-0.5)]]))
    assert clipped_pos.tolist() == [[True, False]]
    loss_neg, clipped_neg = clipped_surrogate(logp, old, torch.tensor([-1.0]), 0.2, 0.28)
    # A < 0: min(-r, -clip(r)) -> [-1.6487, -0.8]: only the low ratio is clipped
    assert torch.allclose(loss_neg, torch.tensor([[math.exp(0.5), 0.8]]))
    assert clipped_neg.tolist() == [[False, True]]


def test_aggregations_on_a_hand_example():
    per_token = torch.tensor([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]])
    mask = torch.tensor([[1, 1, 1], [1, 0, 0]])
    # token: (1+2+3+4)/4 = 2.5; sequence: (2 + 4)/2 = 3; dr_grpo with budget 10: 10/(2*10) = 0.5
    assert aggregate(per_token, mask, "token", loss_normalizer(mask, "token", 10)).item() == pytest.approx(2.5)
    assert aggregate(per_token, mask, "sequence", loss_normalizer(mask, "sequence", 10)).item() == pytest.approx(3.0)
    assert aggregate(per_token, mask, "dr_grpo", loss_normalizer(mask, "dr_grpo", 10)).item() == pytest.approx(0.5)


def test_masked_tokens_get_no_gradient_and_micro_batches_add_up():
    logp = torch.tensor([[-1.0, -2.0, -3.0], [-0.5, -0.5, -0.5]], requires_grad=True)
    mask = torch.tensor([[1, 0, 1], [0, 1, 1]])
    adv = torch.tensor([1.0, -2.0])
    kwargs = dict(epsilon_low=0.2, epsilon_high=0.2, beta=0.1, aggregation="token", normalizer=loss_normalizer(mask, "token", 0))
    full, stats = grpo_loss(logp, logp.detach(), logp.detach() - 0.1, adv, mask, **kwargs)
    full.backward()
    assert logp.grad[0, 1] == 0 and logp.grad[1, 0] == 0
    assert stats.tokens == 4
    # at ratio 1, d(-r*A)/dlogp = -A, over 4 tokens; the KL term's gradient at d=-0.1: (1 - e^d) * beta / 4
    kl_grad = (1 - math.exp(-0.1)) * 0.1 / 4
    assert logp.grad[0, 0].item() == pytest.approx(-1.0 / 4 + kl_grad)
    assert logp.grad[1, 2].item() == pytest.approx(2.0 / 4 + kl_grad)
    parts = [
        grpo_loss(logp[i : i + 1], logp[i : i + 1].detach(), logp[i : i + 1].detach() - 0.1, adv[i : i + 1], mask[i : i + 1], **kwargs)[0] for i in range(2)
    ]
    assert (parts[0] + parts[1]).item() == pytest.approx(full.item())


def test_clip_ratio_splits_into_low_and_high_as_trl_counts_them():
    # Row 1 (A = +1), ratios e^0.5, e^-0.5, 1: only e^0.5 > 1.28 with A > 0 is high-clipped;
    # e^-0.5 < 0.8 does not count as low with A > 0 (the surrogate is not held there).
    # Row 2 (A = -1), the same ratios: only e^-0.5 < 0.8 with A < 0 is low-clipped.
    # Over 6 tokens: low 1/6, high 1/6, and the two together are clip_fraction 2/6.
    logp = torch.tensor([[0.5, -0.5, 0.0], [0.5, -0.5, 0.0]])
    old = torch.zeros(2, 3)
    _, stats = grpo_loss(
        logp, old, None, torch.tensor([1.0, -1.0]), torch.ones(2, 3), epsilon_low=0.2, epsilon_high=0.28, beta=0.0, aggregation="token", normalizer=6.0
    )
    means = stats.means()
    assert means["clip_ratio/low_mean"] == pytest.approx(1 / 6)
    assert means["clip_ratio/high_mean"] == pytest.approx(1 / 6)
    assert means["clip_fraction"] == pytest.approx(means["clip_ratio/low_mean"] + means["clip_ratio/high_mean"])
