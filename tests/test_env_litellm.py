"""Patient and judge over a real HTTP path: LiteLLM's openai/ provider against a local server."""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from dataclasses import replace
from typing import Any

import pytest

from grpodx.cases.schema import Fact
from grpodx.env import EnvError, EnvStats, JudgeConfig, PatientConfig, build_judge, build_patient
from grpodx.env.patient import REDACTED
from grpodx.testing.fake_server import FakeOpenAIServer, Reply

from case_helpers import judge_index, pneumonia_case

CASE = pneumonia_case(
    "cap-1",
    Fact("symptom", "I'm bringing up green phlegm.", ("phlegm",)),
    Fact("exam", "Crackles at the right base.", ("listen",)),
)
DIALOGUE = [
    {"role": "patient", "content": "Hello doctor, I have a cough."},
    {"role": "doctor", "content": "Are you bringing up any phlegm?"},
]


def _patient(server: FakeOpenAIServer, **overrides: Any) -> Any:
    settings = {"model": "openai/fake-patient", "api_base": server.url, "api_key": "sk-test", "retry_backoff": 0.001, "timeout": 5.0}
    return build_patient(PatientConfig(**{**settings, **overrides}))


def _judge(server: FakeOpenAIServer, **overrides: Any) -> Any:
    settings = {"model": "openai/fake-judge", "api_base": server.url, "api_key": "sk-test", "retry_backoff": 0.001, "timeout": 5.0, "num_retries": 1}
    return build_judge(JudgeConfig(**{**settings, **overrides}), judge_index())


def _sent(server: FakeOpenAIServer) -> str:
    return json.dumps(server.requests)


def test_patient_gets_the_sheet_and_dialogue_but_never_the_diagnosis() -> None:
    with FakeOpenAIServer(lambda request: "Yes, green phlegm.") as server:
        patient = _patient(server)
        assert asyncio.run(patient.reply(CASE, DIALOGUE, seed=5)) == "Yes, green phlegm."
    request = server.requests[0]
    roles = [m["role"] for m in request["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    assert "green phlegm" in request["messages"][0]["content"] and request["seed"] == 5
    for name in (*CASE.names, CASE.icd10):
        assert name.lower() not in _sent(server).lower()


def test_a_case_that_names_its_diagnosis_is_redacted_before_sending() -> None:
    leaky = replace(CASE, facts=(*CASE.facts, Fact("history", "I had pneumonia as a child.", ("past",))))
    with FakeOpenAIServer(lambda request: "Not that I know of.") as server:
        patient = _patient(server)
        asyncio.run(patient.reply(leaky, DIALOGUE, seed=0))
    assert "pneumonia" not in _sent(server).lower() and f"I had {REDACTED} as a child." in _sent(server)
    assert patient.stats.extra["sheet_redactions"] == 1


def test_leaking_patient_reply_is_redacted_and_counted() -> None:
    with FakeOpenAIServer(lambda request: "My neighbour said it's Pneumonia, maybe CAP? It's in the capital.") as server:
        patient = _patient(server)
        text = asyncio.run(patient.reply(CASE, DIALOGUE, seed=0))
    assert text == f"My neighbour said it's {REDACTED}, maybe {REDACTED}? It's in the capital."
    assert patient.stats.leaks == 2 and patient.stats.extra["reply_redactions"] == 2  # every redaction counts


def test_a_parenthetical_abbreviation_in_a_test_fact_is_redacted_and_counted() -> None:
    pml = replace(
        CASE,
        diagnosis="Progressive multifocal leukoencephalopathy (PML)",
        aliases=(),
        facts=(
            Fact("exam", "MRI: lesions consistent with Progressive Multifocal Leukoencephalopathy (PML).", ("mri",)),
            Fact("test", "JC virus PCR: positive, indicative of PML.", ("pcr",)),
        ),
    )
    with FakeOpenAIServer(lambda request: "The scan said PML, doctor.") as server:
        patient = _patient(server)
        text = asyncio.run(patient.reply(pml, DIALOGUE, seed=0))
    sent = _sent(server)
    assert "PML" not in sent and "leukoencephalopathy" not in sent.lower()
    assert f"consistent with {REDACTED}." in sent and f"indicative of {REDACTED}." in sent
    assert text == f"The scan said {REDACTED}, doctor."
    assert patient.stats.extra["sheet_redactions"] == 2 and patient.stats.leaks == 3


@pytest.mark.parametrize(
    ("reply", "credit"),
    [
        ('{"score": 0.5, "rationale": "same category"}', 0.5),
        ('Here you go:\n```json\n{"score": 0.7, "rationale": "fenced"}\n```', 0.7),
        ("Score: 8/10 (same category)", 0.8),
        ("Score: 0.2\nSame organ system.", 0.2),
    ],
)
def test_judge_parses_json_fenced_json_and_score_lines(reply: str, credit: float) -> None:
    with FakeOpenAIServer(lambda request: reply) as server:
        # Bronchopneumonia (J18.0) shares the truth's category: the model's score is not capped
        verdict = asyncio.run(_judge(server).score(CASE, "Bronchopneumonia", ["lung abscess"], dialogue=DIALOGUE))
    assert verdict.credit == credit
    grade_request = server.requests[0]["messages"][-1]["content"]
    for sent in ("Community-acquired pneumonia", "CAP", "J18.9", "Bronchopneumonia", "lung abscess"):
        assert sent in grade_request
    assert "phlegm" not in _sent(server)  # the transcript never reaches the grade


def test_an_empty_diagnosis_scores_zero_without_a_call() -> None:
    with FakeOpenAIServer(lambda request: '{"score": 1.0}') as server:
        verdict = asyncio.run(_judge(server).score(CASE, "  ", ["pneumonia"]))
    assert (verdict.credit, verdict.correct, verdict.rank) == (0.0, False, 2) and server.requests == []


@pytest.mark.parametrize(
    "hedge", ["pneumonia or pulmonary embolism", "pneumonia?", "rule out pneumonia", "history of pneumonia", "not pneumonia", "pneumonia, PE"]
)
def test_an_llm_judge_cannot_be_paid_for_a_hedge(hedge: str) -> None:
    """The same gate as the rubric, before any model is asked: an LLM that would give 1.0 is never called."""
    with FakeOpenAIServer(lambda request: '{"score": 1.0, "rationale": "covers it"}') as server:
        verdict = asyncio.run(_judge(server).score(CASE, hedge, []))
    assert (verdict.credit, verdict.correct) == (0.0, False) and server.requests == []


def test_an_llm_judge_cannot_overrule_the_code_set_on_another_disease() -> None:
    """After the model: an answer the code set puts outside the truth's category is capped at the rubric's credit."""
    with FakeOpenAIServer(lambda request: '{"score": 1.0, "rationale": "talked into it"}') as server:
        judge = _judge(server)
        other = asyncio.run(judge.score(CASE, "pulmonary embolism", []))
        unknown = asyncio.run(judge.score(CASE, "lung infection right base", []))
    assert (other.credit, other.correct) == (0.0, False)
    assert (unknown.credit, unknown.correct) == (1.0, True)  # one diagnosis the code set cannot code: the model's call
    assert judge.stats.extra["uncoded_credit"] == 1 and unknown.rationale.startswith("[LLM credit for an answer the code set cannot code]")
    request = json.loads(server.requests[0]["messages"][-1]["content"].split("```json")[1].split("```")[0])
    assert request["final_diagnosis_coding"]["icd10"].startswith("I26")


def test_unparseable_judge_falls_back_to_the_rubric_after_retries() -> None:
    with FakeOpenAIServer(lambda request: "1. Pneumonia is likely given the fever.") as server:
        judge = _judge(server, num_retries=2)
        verdict = asyncio.run(judge.score(CASE, "pneumonia", []))
    assert len(server.requests) == 3
    assert judge.stats.fallbacks == 1
    assert verdict.credit == 1.0 and verdict.correct and verdict.rank == 1


def _flaky(status: int, failures: int) -> Any:
    calls = {"n": 0}

    def handler(request: dict) -> str | int:
        calls["n"] += 1
        return status if calls["n"] <= failures else "I'm bringing up green phlegm."

    return handler


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_server_errors_are_retried(status: int) -> None:
    with FakeOpenAIServer(_flaky(status, failures=2)) as server:
        patient = _patient(server, num_retries=2)
        assert asyncio.run(patient.reply(CASE, DIALOGUE, 0)) == "I'm bringing up green phlegm."
    assert patient.stats.retries == 2 and patient.stats.failures == 0 and len(server.requests) == 3


def test_persistent_failure_raises_env_error_after_the_retries() -> None:
    with FakeOpenAIServer(lambda request: 500) as server:
        patient = _patient(server, num_retries=2)
        with pytest.raises(EnvError, match="fake-patient"):
            asyncio.run(patient.reply(CASE, DIALOGUE, 0))
    assert len(server.requests) == 3 and patient.stats.failures == 1


def test_authentication_error_is_not_retried() -> None:
    with FakeOpenAIServer(lambda request: 401) as server:
        patient = _patient(server, num_retries=3)
        with pytest.raises(EnvError, match="AuthenticationError"):
            asyncio.run(patient.reply(CASE, DIALOGUE, 0))
    assert len(server.requests) == 1 and patient.stats.retries == 0


def test_slow_reply_times_out_and_is_retried() -> None:
    latencies = iter([1.0, 0.0])
    with FakeOpenAIServer(lambda request: Reply("green phlegm", latency=next(latencies))) as server:
        patient = _patient(server, timeout=0.3, num_retries=1)
        assert asyncio.run(patient.reply(CASE, DIALOGUE, 0)) == "green phlegm"
    assert patient.stats.retries == 1


def test_concurrency_is_limited_by_max_concurrency() -> None:
    state = {"now": 0, "peak": 0}
    lock = threading.Lock()

    def handler(request: dict) -> str:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.1)
        with lock:
            state["now"] -= 1
        return "ok"

    async def many(patient: Any) -> list[str]:
        return await asyncio.gather(*(patient.reply(CASE, DIALOGUE, i) for i in range(8)))

    with FakeOpenAIServer(handler) as server:
        assert asyncio.run(many(_patient(server, max_concurrency=3))) == ["ok"] * 8
    assert state["peak"] == 3


def test_thirty_percent_injected_failures_become_counted_env_errors() -> None:
    rng = random.Random(0)
    lock = threading.Lock()

    def handler(request: dict) -> str | int:
        with lock:
            fail = rng.random() < 0.3
        return 500 if fail else "green phlegm"

    async def run(patient: Any) -> list[Any]:
        return await asyncio.gather(*(patient.reply(CASE, DIALOGUE, i) for i in range(40)), return_exceptions=True)

    with FakeOpenAIServer(handler) as server:
        patient = _patient(server, num_retries=0, max_concurrency=8)
        results = asyncio.run(run(patient))
    errors = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(e, EnvError) for e in errors)
    assert 4 <= len(errors) <= 20 and patient.stats.failures == len(errors)
    assert patient.stats.calls == 40 and results.count("green phlegm") == 40 - len(errors)


def test_usage_and_cost_known_price_and_unknown_price() -> None:
    with FakeOpenAIServer(lambda request: "green phlegm today") as server:
        priced = _patient(server, model="openai/gpt-4o-mini")
        asyncio.run(priced.reply(CASE, DIALOGUE, 0))
        unpriced = _patient(server, model="openai/no-such-model-anywhere")
        asyncio.run(unpriced.reply(CASE, DIALOGUE, 0))
    assert priced.stats.completion_tokens == 3 and priced.stats.prompt_tokens > 50
    assert priced.stats.cost_usd > 0
    assert unpriced.stats.cost_usd == 0.0 and unpriced.stats.extra["unpriced_calls"] == 1


def test_process_score_is_a_separate_weighted_call() -> None:
    def handler(request: dict) -> str:
        is_process = "conducted a diagnostic interview" in request["messages"][0]["content"]
        return '{"score": 0.4, "rationale": "repetitive"}' if is_process else '{"score": 1.0, "rationale": "right"}'

    with FakeOpenAIServer(handler) as server:
        verdict = asyncio.run(_judge(server, process_weight=0.25).score(CASE, "pneumonia", [], dialogue=DIALOGUE))
    assert (verdict.credit, verdict.process) == (1.0, 0.4)
    assert verdict.total == pytest.approx(0.75 * 1.0 + 0.25 * 0.4)
    assert "phlegm" in server.requests[1]["messages"][-1]["content"]


def test_fresh_stats_swapped_in_keep_counting() -> None:
    patient, judge = build_patient(PatientConfig()), build_judge(JudgeConfig(), judge_index())
    asyncio.run(patient.opening(CASE, 0))
    patient.stats, judge.stats = EnvStats(), EnvStats()
    asyncio.run(patient.opening(CASE, 0))
    asyncio.run(judge.score(CASE, "CAP", []))
    assert patient.stats.calls == 1 and judge.stats.calls == 1


def test_embedded_backends_by_default_and_process_needs_an_llm_judge() -> None:
    patient, judge = build_patient(PatientConfig()), build_judge(JudgeConfig(), judge_index())
    assert "67-year-old woman" in asyncio.run(patient.opening(CASE, 0))
    greetings = {asyncio.run(patient.opening(CASE, seed)).split(" I'm")[0] for seed in range(12)}
    assert len(greetings) > 1  # the seed reaches the embedded provider through LiteLLM
    assert asyncio.run(judge.score(CASE, "CAP", [])).credit == 1.0
    with pytest.raises(ValueError, match="process_weight"):
        JudgeConfig(process_weight=0.5)
