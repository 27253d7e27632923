"""Continuous batching on the tiny model: what a turn samples does not depend on who shared its
batch or when it arrived, and each sequence's KV cache is the one a plain decode leaves."""

import asyncio

import pytest
import torch

from grpodx.decode import SequenceCache, sample

TEXTS = ["The patient is", "I have had a pain in my chest since", "Hi", "What is the most likely cause of this?\n"]


@pytest.fixture(scope="module")
def prompts(tiny_policy):
    return [tiny_policy.tokenizer.encode(text) for text in TEXTS]


def plain(policy, prompt, max_new_tokens, generator=None, temperature=0.0):
    """One sequence alone through decode.sample: its tokens and the cache it leaves."""
    cache = SequenceCache()
    with policy._inference():
        out = sample(
            policy.model,
            [prompt],
            [cache],
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            top_p=1.0,
            stop_ids=policy.stop_ids,
            pad_id=policy.tokenizer.pad_token_id,
            generator=generator,
        )
    return out[0], cache


async def staggered(batcher, requests, gaps):
    """Submit each (prompt, cache, generator) after its gap in batcher steps; gather the outputs."""
    serving = asyncio.ensure_future(batcher.serve())
    futures = []
    try:
        for (prompt, cache, generator), gap in zip(requests, gaps):
            for _ in range(gap):
                await asyncio.sleep(0)  # one serve iteration: the running rows take a step
            futures.append(batcher.generate(prompt, cache, generator))
        return await asyncio.gather(*futures)
    finally:
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)


@pytest.mark.parametrize("max_rows", [None, 1, 2])
def test_staggered_greedy_turns_equal_each_sequence_decoded_alone(tiny_policy, prompts, max_rows):
    batcher = tiny_policy.batcher(12, 0.0, 1.0, max_rows)
    caches = [SequenceCache() for _ in prompts]
    outputs = asyncio.run(staggered(batcher, [(p, c, None) for p, c in zip(prompts, caches)], gaps=[0, 3, 0, 5]))
    for prompt, cache, out in zip(prompts, caches, outputs):
        alone, alone_cache = plain(tiny_policy, prompt, 12)
        assert out == alone and 0 < len(out) <= 12
        # the cache holds exactly what was fed: the prompt and every sampled token but the last
        assert cache.ids == prompt + out[:-1] == alone_cache.ids
        assert cache.prefill_tokens == len(prompt)
        for (k, v), (k0, v0) in zip(cache.layers, alone_cache.layers):
            assert k.shape == k0.shape and torch.allclose(k, k0, atol=1e-5) and torch.allclose(v, v0, atol=1e-5)
    assert not batcher.rows and not batcher.waiting and batcher.busy_s > 0


def test_a_second_turn_encodes_only_what_was_appended(tiny_policy, prompts):
    batcher = tiny_policy.batcher(8, 0.0, 1.0)
    caches = [SequenceCache() for _ in prompts[:3]]
    first = asyncio.run(staggered(batcher, [(p, c, None) for p, c in zip(prompts, caches)], gaps=[0, 0, 2]))
    reply = tiny_policy.tokenizer.encode("It hurts.", add_special_tokens=False)  # the patient's delta
    seconds = [p + out + reply for p, out in zip(prompts, first)]
    second = asyncio.run(staggered(batcher, [(s, c, None) for s, c in zip(seconds, caches)], gaps=[1, 0, 0]))
    for prompt, full, cache, out in zip(prompts, seconds, caches, second):
        assert out == plain(tiny_policy, full, 8)[0]
        # turn 2 fed the last sampled token of turn 1 and the reply, nothing before
        assert cache.prefill_tokens == len(prompt) + 1 + len(reply)
        assert cache.ids == full + out[:-1]


def test_each_row_samples_from_its_own_generator_whoever_shares_the_batch(tiny_policy, prompts):
    def run(order, gaps):
        batcher = tiny_policy.batcher(10, 1.0, 1.0)
        requests = [(prompts[i], SequenceCache(), torch.Generator().manual_seed(100 + i)) for i in order]
        return dict(zip(order, asyncio.run(staggered(batcher, requests, gaps))))

    together = run([0, 1, 2, 3], [0, 2, 1, 0])
    for i, prompt in enumerate(prompts):
        assert together[i] == plain(tiny_policy, prompt, 10, torch.Generator().manual_seed(100 + i), temperature=1.0)[0]
    # other company, other arrival times: each row still draws the same tokens
    assert run([3, 2, 1, 0], [0, 0, 0, 4]) == together


def test_a_failing_forward_reaches_every_waiting_turn(tiny_policy, prompts):
    batcher = tiny_policy.batcher(6, 0.0, 1.0)

    class Broken(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, **kwargs):
            raise RuntimeError("CUDA out of memory (simulated)")

    batcher.model = Broken(tiny_policy.model)

    async def go():
        serving = asyncio.ensure_future(batcher.serve())
        futures = [batcher.generate(p, SequenceCache()) for p in prompts[:2]]
        results = await asyncio.gather(*futures, return_exceptions=True)
        await asyncio.gather(serving, return_exceptions=True)
        return results, serving

    training = tiny_policy.model.training
    results, serving = asyncio.run(go())
    assert all(isinstance(r, RuntimeError) and "out of memory" in str(r) for r in results)
    assert isinstance(serving.exception(), RuntimeError)
    assert tiny_policy.model.training == training  # the inference mode was left on the way out


def test_a_cache_that_is_not_a_prefix_is_refused(tiny_policy):
    batcher = tiny_policy.batcher(4, 0.0, 1.0)
    cache = SequenceCache(ids=[1, 2, 3])

    async def go():
        batcher.generate([1, 2, 4, 5], cache)

    with pytest.raises(ValueError, match="proper prefix"):
        asyncio.run(go())
