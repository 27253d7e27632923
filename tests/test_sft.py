"""The supervised loop of train/sft.py: the doctor-token loss, padding that changes nothing, learning."""

from __future__ import annotations

import pytest
import torch
from transformers import Phi3Config, Phi3ForCausalLM

from grpodx.rollout.padding import pack_rows
from grpodx.train.sft import causal_lm_log_probs, supervised_steps

ROWS = [([3, 7, 9, 4, 2], [0, 0, 1, 1, 1]), ([5, 6, 8], [0, 1, 1]), ([1, 2, 3, 4, 5, 6, 7], [0, 0, 0, 1, 1, 0, 1])]


@pytest.fixture
def model():
    torch.manual_seed(0)
    config = Phi3Config(vocab_size=32, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2, pad_token_id=0)
    return Phi3ForCausalLM(config).eval()


def test_the_loss_is_the_causal_lm_loss_on_the_doctor_tokens(model):
    ids, attention, where = pack_rows(ROWS, pad_id=0)  # [3, 7], [3, 7], [3, 6]
    # transformers' own loss with every token off the doctor's (padding included) labelled -100;
    # its labels are unshifted: labels[t] is predicted at t - 1, which is where[t - 1]
    doctor = torch.nn.functional.pad(where, (1, 0)).bool()  # [3, 7]
    with torch.no_grad():
        ours = -(causal_lm_log_probs(model)(ids, attention, where.float()).sum() / where.sum())
        theirs = model(input_ids=ids, attention_mask=attention, labels=torch.where(doctor, ids, -100)).loss
    assert float(ours) == pytest.approx(float(theirs), abs=1e-5)


def test_padding_does_not_change_a_rows_log_probs(model):
    alone = causal_lm_log_probs(model)(*[t for t in pack_rows(ROWS[1:2], 0)[:2]], torch.ones(1, 2))
    ids, attention, where = pack_rows(ROWS, pad_id=0)
    batched = causal_lm_log_probs(model)(ids, attention, torch.ones_like(where, dtype=torch.float))
    assert torch.allclose(batched[1, :2], alone[0], atol=1e-5)


def test_supervised_steps_lower_the_loss_of_the_doctor_tokens(model):
    losses = supervised_steps(causal_lm_log_probs(model.train()), list(model.parameters()), ROWS, 0, steps=30, lr=1e-2, batch_size=3, seed=0)
    assert len(losses) == 30 and losses[-1] < 0.5 * losses[0]
    with pytest.raises(ValueError, match="at least one conversation"):
        supervised_steps(causal_lm_log_probs(model), list(model.parameters()), [], 0, steps=1, lr=1e-2, batch_size=1, seed=0)
