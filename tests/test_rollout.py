"""The turn loop on the tiny model: token in/token out, masks, statuses, the last-turn note."""

import asyncio
import time

import pytest
import torch

from grpodx.cases.bank import builtin_templates
from grpodx.cases.variation import instantiate
from grpodx.env import JudgeConfig, PatientConfig, build_judge, build_patient
from grpodx.env.base import EnvError, EnvStats, Patient
from grpodx.rollout.decode import SequenceCache
from grpodx.rollout.dialogue import LAST_TURN_NOTE, system_prompt
from grpodx.rollout.engine import RolloutConfig, RolloutEngine, pack
from grpodx.rollout.template import ChatTokens, TemplateError
from tests.case_helpers import judge_index


class RecordingPolicy:
    """The real tiny policy, recording what it sampled for each prompt."""

    def __init__(self, policy):
        self.inner, self.samples = policy, {}
        self.tokenizer, self.stop_ids, self.config = policy.tokenizer, policy.stop_ids, policy.config

    def generate(self, prompts, max_new_tokens, temperature=1.0, top_p=1.0, caches=None):
        if caches is not None:  # each episode's KV cache covers exactly a prefix of its ids
            assert all(prompt[: len(c.ids)] == c.ids and len(c.ids) < len(prompt) for prompt, c in zip(prompts, caches))
        out = self.inner.generate(prompts, max_new_tokens, temperature, top_p, caches=caches)
        for prompt, ids in zip(prompts, out):  # a group's episodes share their first prompt
            self.samples.setdefault(tuple(prompt), []).append(ids)
        return out


class FlakyPatient(Patient):
    """A scripted patient that fails for one case, as an API outage would."""

    def __init__(self, broken_case_id):
        self.broken, self.stats = broken_case_id, EnvStats()

    async def opening(self, case, seed):
        return case.chief_complaint

    async def reply(self, case, dialogue, seed):
        if case.id == self.broken:
            raise EnvError("patient API: 503 after 3 retries")
        await asyncio.sleep(0)
        return "I'm not sure."


def cases(n=3):
    return [instantiate(t, seed=1) for t in builtin_templates()[:n]]


def engine(policy, patient=None, **rollout):
    config = RolloutConfig(**({"group_size": 2, "max_turns": 3, "max_new_tokens": 24} | rollout))
    return RolloutEngine(policy, patient or build_patient(PatientConfig()), build_judge(JudgeConfig(), judge_index()), config)


def test_trained_ids_are_exactly_the_sampled_ids(tiny_policy):
    policy = RecordingPolicy(tiny_policy)
    run = engine(policy)
    episodes = run.run(cases(), seeds=[1, 2, 3], group_size=2, temperature=1.0)
    assert {e.status for e in episodes} <= {"diagnosed", "out_of_turns"}
    for e in episodes:
        doctor = [t for t, m in zip(e.token_ids, e.doctor_mask) if m]
        sampled, position = [], 0
        # walk the episode: every run of doctor tokens is what generate returned for the prefix before it
        while position < len(e.token_ids):
            if e.doctor_mask[position]:
                candidates = policy.samples[tuple(e.token_ids[:position])]
                ids = next(c for c in candidates if e.token_ids[position : position + len(c)] == c)
                sampled += ids
                position += len(ids)
            else:
                position += 1
        assert doctor == sampled and len(sampled) > 0
        assert e.turns == sum(1 for m in e.messages if m["role"] == "assistant")
    run.close()


def test_kv_cache_across_turns_encodes_only_what_each_turn_adds(tiny_policy):
    policy = RecordingPolicy(tiny_policy)
    run = engine(policy, max_turns=4, max_new_tokens=16)
    episodes = run.run(cases(), seeds=[1, 2, 3], group_size=2, temperature=0.0)
    for e in episodes:
        # the opening prompt, then per later turn the last sampled token plus the patient's delta
        assert e.prefill_tokens == e.doctor_mask.count(0) + (e.turns - 1)
        assert e.prefill_tokens < len(e.token_ids)
    # with the cache, greedy turns are the ones a fresh encoding of the whole conversation gives
    for prompt, samples in policy.samples.items():
        assert tiny_policy.generate([list(prompt)], 16, temperature=0.0)[0] in samples
    run.close()


def test_a_groups_first_prompt_is_encoded_once_and_samples_as_if_each_row_were(tiny_policy):
    g = torch.Generator().manual_seed(0)
    a, b = (torch.randint(20, 500, (n,), generator=g).tolist() for n in (40, 31))
    prompts = [a, b, a, a, b]  # two cases, attempts interleaved
    rows_encoded = []
    hook = tiny_policy.model.register_forward_pre_hook(lambda _, args, kwargs: rows_encoded.append(kwargs["input_ids"].shape), with_kwargs=True)
    before = tiny_policy.decode_stats.shared_prefill_tokens
    try:
        caches = [SequenceCache() for _ in prompts]
        greedy = tiny_policy.generate(prompts, 6, temperature=0.0, caches=caches)
    finally:
        hook.remove()
    assert rows_encoded[0] == (2, 40)  # the first forward encodes each distinct prompt once, padded as the batch is
    assert tiny_policy.decode_stats.shared_prefill_tokens - before == 2 * len(a) + len(b)
    for prompt, ids, cache in zip(prompts, greedy, caches):
        alone = SequenceCache()
        assert tiny_policy.generate([prompt], 6, temperature=0.0, caches=[alone]) == [ids]
        assert cache.ids == alone.ids
        for (k, v), (k1, v1) in zip(cache.layers, alone.layers):  # each row holds its own sequence's keys and values
            torch.testing.assert_close(k, k1)
            torch.testing.assert_close(v, v1)
    # sampled, each attempt still draws its own tokens
    torch.manual_seed(0)
    sampled = tiny_policy.generate([a] * 8, 12, temperature=1.0)
    assert len({tuple(s) for s in sampled}) > 1


def test_sequence_is_the_template_rendering_of_the_conversation(tiny_policy):
    run = engine(tiny_policy)
    episodes = run.run(cases(), seeds=[1, 2, 3], group_size=2, temperature=1.0)
    for e in episodes:
        text = tiny_policy.tokenizer.decode(e.token_ids)
        rendered = run.chat.render(e.messages, add_generation_prompt=e.messages[-1]["role"] == "user")
        # identical up to the template's closing of a final doctor turn, which was never sampled
        assert rendered.startswith(text)
        assert rendered[len(text) :] in ("", "\n", "<|end|>\n")
    run.close()


def test_patient_never_sees_reasoning_and_last_turn_note(tiny_policy):
    run = engine(tiny_policy, max_turns=2)
    episodes = run.run(cases(2), seeds=[5, 6], group_size=2, temperature=1.0)
    for e in episodes:
        assert all("<reason>" not in m["content"] for m in e.dialogue)
        if e.turns == 2:  # the patient message before the last turn tells the doctor to diagnose
            assert LAST_TURN_NOTE in e.messages[3]["content"]
            assert LAST_TURN_NOTE not in e.messages[1]["content"]
    run.close()


def test_env_error_marks_only_the_failing_case(tiny_policy):
    batch = cases(2)
    run = engine(tiny_policy, FlakyPatient(batch[0].id), max_turns=3, max_new_tokens=8)
    episodes = run.run(batch, seeds=[1, 2], group_size=2, temperature=1.0)
    first, second = episodes[:2], episodes[2:]
    assert all(e.status in ("env_error", "diagnosed") for e in first)
    assert any(e.status == "env_error" for e in first) or all(e.status == "diagnosed" for e in first)
    assert all(e.status != "env_error" for e in second)
    assert all("503" in e.error for e in first if e.status == "env_error")
    run.close()


def test_context_overflow_is_truncated_and_not_trainable(tiny_policy):
    from dataclasses import replace

    policy = RecordingPolicy(tiny_policy)
    run = engine(policy, max_new_tokens=48, max_turns=5)
    budget = (
        max(len(run.chat.prompt_ids([{"role": "system", "content": system_prompt(5)}, {"role": "user", "content": c.chief_complaint}])) for c in cases(2)) + 80
    )
    policy.config = replace(tiny_policy.config, max_seq_len=budget)  # room for one doctor turn, not two
    episodes = run.run(cases(2), seeds=[1, 2], group_size=2, temperature=1.0)
    assert any(e.status == "truncated" for e in episodes)
    assert all(len(e.token_ids) <= budget for e in episodes)
    assert not any(e.trainable for e in episodes if e.status == "truncated")
    run.close()


def test_times_split_the_run_into_generating_and_waiting(tiny_policy):
    class SlowPatient(FlakyPatient):
        async def reply(self, case, dialogue, seed):
            await asyncio.sleep(0.05)
            return "It started two days ago."

    run = engine(tiny_policy, SlowPatient(None), max_turns=3, max_new_tokens=8)
    started = time.perf_counter()
    episodes = run.run(cases(2), seeds=[1, 2], group_size=2, temperature=1.0)
    wall = time.perf_counter() - started
    replies = max(e.turns for e in episodes) - 1  # the patients of one turn answer together
    assert run.times.generate_s > 0 and run.times.env_s >= 0.05 * replies
    assert abs(run.times.generate_s + run.times.env_s - wall) < 0.05 * wall
    run.close()


def test_pack_masks_only_doctor_tokens(tiny_policy):
    run = engine(tiny_policy)
    episodes = run.run(cases(1), seeds=[1], group_size=2, temperature=1.0)
    batch = pack(episodes, [0.5, -0.5], tiny_policy.tokenizer.pad_token_id)
    for row, e in enumerate(episodes):
        n = len(e.token_ids)
        assert batch.loss_mask[row, : n - 1].tolist() == e.doctor_mask[1:]
        assert batch.loss_mask[row, n - 1 :].sum() == 0 and batch.attention_mask[row].sum() == n
    assert batch.advantages.tolist() == [0.5, -0.5]
    run.close()


def test_a_template_that_rewrites_turns_fails_at_start_up(tiny_policy):
    tokenizer = tiny_policy.tokenizer
    original = tokenizer.chat_template
    tokenizer.chat_template = original.replace("message['content']", "(message['content'] | trim)")
    try:
        with pytest.raises(TemplateError, match="not prefix-preserving"):
            ChatTokens(tokenizer, tiny_policy.stop_ids)
    finally:
        tokenizer.chat_template = original
