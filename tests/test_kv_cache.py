"""grpodx/rollout/kv_cache.py against the installed transformers: the cache a model's forward takes
and returns, built from and read back as plain per-layer tensors, and the in-place decode buffer."""

import pytest
import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM

from grpodx.rollout.kv_cache import CACHE_ARG, cache_layers, check_version, new_cache, returned_cache, with_room


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=40, hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=64
    )
    return LlamaForCausalLM(config).eval()


def forward(model, ids, cache):
    positions = torch.arange(cache.get_seq_length(), cache.get_seq_length() + ids.shape[1]).unsqueeze(0)
    out = model(input_ids=ids, position_ids=positions, use_cache=True, **{CACHE_ARG: cache})
    return out.logits, returned_cache(out)


def test_the_installed_transformers_is_supported_and_an_old_one_is_named():
    check_version(transformers.__version__)
    with pytest.raises(ImportError, match=r"transformers >= 4.56 .* found 4.55.2"):
        check_version("4.55.2")


@torch.no_grad()
def test_a_cache_rebuilt_from_its_tensors_and_given_room_continues_as_the_whole_forward(model):
    ids = torch.randint(0, 40, (1, 9), generator=torch.Generator().manual_seed(1))
    whole, _ = forward(model, ids, new_cache())
    _, prefix = forward(model, ids[:, :5], new_cache())
    layers = cache_layers(prefix)
    assert len(layers) == 2 and layers[0][0].shape == (1, 1, 5, 8)  # [B, H_kv, P, D] per layer
    cache = with_room(new_cache([(k.clone(), v.clone()) for k, v in layers]), room=4)  # through plain tensors
    for t in range(5, 9):  # one token at a time, as the decode loop steps
        logits, cache = forward(model, ids[:, t : t + 1], cache)
        torch.testing.assert_close(logits[:, -1], whole[:, t], rtol=1e-4, atol=1e-5)
    assert cache_layers(cache)[0][0].shape[-2] == 9


def test_a_decode_step_writes_its_slot_in_place_and_reads_what_cat_would():
    g = torch.Generator().manual_seed(0)
    keys, values = torch.randn(3, 2, 5, 4, generator=g), torch.randn(3, 2, 5, 4, generator=g)
    cache = with_room(new_cache([(keys, values)]), room=2)
    buffer = cache_layers(cache)[0][0].untyped_storage().data_ptr()
    for _ in range(2):
        k, v = torch.randn(3, 2, 1, 4, generator=g), torch.randn(3, 2, 1, 4, generator=g)
        ((old_k, old_v),) = cache_layers(cache)
        expected = torch.cat([old_k, k], dim=-2), torch.cat([old_v, v], dim=-2)
        got = cache.update(k, v, 0)  # what a model's attention calls
        assert torch.equal(got[0], expected[0]) and torch.equal(got[1], expected[1])
        assert got[0].untyped_storage().data_ptr() == buffer  # no new allocation: the slot was written in place
    assert cache.get_seq_length() == 7
