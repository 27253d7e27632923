"""The cold-start options on the tiny model: forced final turn, graded format credit,
evaluation-only repetition settings, and the supervised warm-up on training cases."""

from grpodx.cases.bank import builtin_templates
from grpodx.cases.variation import instantiate
from grpodx.env import JudgeConfig, PatientConfig, build_judge, build_patient
from grpodx.rollout.dialogue import DIAGNOSIS_PREFIX, format_grade
from grpodx.rollout.engine import RolloutConfig, RolloutEngine
from grpodx.train.rewards import RewardWeights, Rubric, reward_funcs
from grpodx.train.sft import conversation_ids
from grpodx.train.warmup import WarmUp, fact_question
from grpodx.types import RewardParts

from case_helpers import judge_index


class RecordingPolicy:
    """The real tiny policy, recording each generate call's prompts, samples and options."""

    def __init__(self, policy):
        self.inner, self.calls = policy, []
        self.tokenizer, self.stop_ids, self.config = policy.tokenizer, policy.stop_ids, policy.config

    def generate(self, prompts, max_new_tokens, temperature=1.0, top_p=1.0, **options):
        out = self.inner.generate(prompts, max_new_tokens, temperature, top_p, **options)
        self.calls.append(([list(p) for p in prompts], out, {k: v for k, v in options.items() if k != "caches"}))
        return out

    def __getattr__(self, name):
        return getattr(self.inner, name)


def cases(n=3, seed=1):
    return [instantiate(t, seed=seed) for t in builtin_templates()[:n]]


def engine(policy, **rollout):
    config = RolloutConfig(**({"group_size": 2, "max_turns": 2, "max_new_tokens": 16} | rollout))
    return RolloutEngine(policy, build_patient(PatientConfig()), build_judge(JudgeConfig(), judge_index()), config)


def test_forced_final_turn_is_context_and_the_samples_stay_exact(tiny_policy):
    policy = RecordingPolicy(tiny_policy)
    run = engine(policy, force_final_diagnosis=True)
    episodes = run.run(cases(), seeds=[1, 2, 3], group_size=2, temperature=1.0)
    prefix = run.chat.encode(DIAGNOSIS_PREFIX)
    last_prompts, last_samples, _ = policy.calls[-1]
    reached = [e for e in episodes if e.turns == 2]
    assert reached, "some episode should reach the forced last turn"
    for e in reached:
        assert e.messages[-1]["content"].startswith(DIAGNOSIS_PREFIX)
        sample = last_samples[next(i for i, p in enumerate(last_prompts) if e.token_ids[: len(p)] == p)]
        start = len(e.token_ids) - len(sample)
        assert e.token_ids[start:] == sample and all(e.doctor_mask[start:])  # sampled ids, all trained
        assert e.token_ids[start - len(prefix) : start] == prefix  # the prefill, right before them ...
        assert not any(e.doctor_mask[start - len(prefix) : start])  # ... carries no loss
        assert e.status in ("diagnosed", "out_of_turns")  # never left without a verdict by running out of words
    assert all(p[-len(prefix) :] != prefix for p in policy.calls[0][0])  # earlier turns are free
    run.close()


def test_without_forcing_nothing_is_prefilled(tiny_policy):
    run = engine(tiny_policy, max_turns=1)
    for e in run.run(cases(2), seeds=[1, 2], group_size=2, temperature=1.0):
        assert sum(e.doctor_mask) == len(e.token_ids) - len(run.chat.prompt_ids(e.messages[:2]))
    run.close()


def test_repetition_settings_reach_evaluation_only(tiny_policy):
    policy = RecordingPolicy(tiny_policy)
    run = engine(policy, max_turns=1, eval_repetition_penalty=1.3, eval_no_repeat_ngram_size=3)
    run.run(cases(1), seeds=[1], group_size=2, temperature=1.0)
    assert policy.calls[-1][2] == {}  # training samples come from the plain softmax the loss assumes
    run.run(cases(1), seeds=[1], group_size=1, temperature=0.0, evaluation=True)
    assert policy.calls[-1][2] == {"repetition_penalty": 1.3, "no_repeat_ngram_size": 3}
    run.close()


def test_graded_format_separates_what_strict_format_lumps_together():
    clean = format_grade("<reason>cough</reason>Any fever?", ended=True)
    rambling = format_grade("Sorry to hear that. Sorry to hear that.", ended=False)
    stopped = format_grade("Sorry to hear that. Sorry to hear that.", ended=True)
    unclosed = format_grade("<reason>cough... Any fever?", ended=True)
    assert clean == 1.0 and rambling == unclosed == 1 / 3 and stopped == 2 / 3  # each check adds a third
    assert format_grade("Any fever? Any cough?", ended=True) == 2 / 3  # two questions: not "exactly one"
    weights = RewardWeights(w_format_graded=0.3)
    parts = RewardParts(judged=0.0, format=0.0, questions=1.0, credit=0.0, process=0.0, format_graded=0.5)
    assert Rubric(reward_funcs(weights)).total(parts) == round(0.3 * 0.5 - 0.02, 10)
    assert Rubric(reward_funcs(RewardWeights())).total(parts) == -0.02  # off by default


def test_fact_questions_use_words_the_fact_answers_to():
    for template in builtin_templates()[:20]:
        for fact in instantiate(template, seed=0).facts:
            question = fact_question(fact)
            assert question is None or (question.endswith("?") and question.count("?") == 1)


def test_warmup_conversations_are_rollout_tokens_with_only_the_doctor_trained(tiny_policy):
    run = engine(tiny_policy, max_turns=3)
    warm = WarmUp(steps=1, max_questions=2)
    train = cases(4)
    conversations = run.loop.run_until_complete(warm._conversations(train, run.patient, _turns(3)))
    for messages in conversations:
        ids, mask = conversation_ids(run.chat, messages, tiny_policy.stop_ids[0])
        rendered = run.chat.render(messages, add_generation_prompt=False)
        assert rendered.startswith(tiny_policy.tokenizer.decode(ids))  # the template's own text
        doctor = tiny_policy.tokenizer.decode([t for t, m in zip(ids, mask) if m])
        assert "DIAGNOSIS:" in doctor and "<|assistant|>" not in doctor and "<|user|>" not in doctor
        assert messages[-1]["content"].count("DIAGNOSIS:") == 1
        named = messages[-1]["content"].split("DIFFERENTIAL:")[-1]
        assert all(d.strip() in {c.diagnosis for c in train} for d in named.split(";"))  # training diagnoses only
    run.close()


def _turns(max_turns):
    from grpodx.train.warmup import ProtocolTurns

    return ProtocolTurns(max_turns, 1, 2)


def test_warmup_lowers_the_loss_and_refuses_held_out_cases(tiny_policy):
    import copy

    import pytest

    policy = copy.deepcopy(tiny_policy)
    run = engine(policy, max_turns=3)
    warm = WarmUp(steps=12, lr=3e-3, batch_size=4)
    train, held_out = cases(6), cases(6, seed=9)
    losses = warm.run(policy, run, train, held_out)
    assert len(losses) == 12 and sum(losses[-3:]) / 3 < sum(losses[:3]) / 3
    with pytest.raises(ValueError, match="apart from the held-out"):
        warm.run(policy, run, train, train[:1])
    run.close()
