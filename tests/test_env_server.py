"""The fake OpenAI server speaks the real protocol: LiteLLM's openai/ provider talks to it."""

from __future__ import annotations

import asyncio

import litellm
import pytest

from grpodx.testing.fake_server import FakeOpenAIServer, Reply


def _ask(server: FakeOpenAIServer, text: str = "hello") -> litellm.ModelResponse:
    return asyncio.run(
        litellm.acompletion(
            model="openai/fake-model",
            api_base=server.url,
            api_key="sk-test",
            messages=[{"role": "user", "content": text}],
            num_retries=0,
            max_retries=0,
            timeout=5,
        )
    )


def test_scripted_reply_usage_and_recorded_request() -> None:
    with FakeOpenAIServer(lambda request: "It started two days ago.") as server:
        assert server.url.endswith("/v1")
        response = _ask(server, "When did it start?")
    assert response.choices[0].message.content == "It started two days ago."
    assert response.usage.prompt_tokens == 4 and response.usage.completion_tokens == 5
    assert server.requests[0]["model"] == "fake-model"
    assert server.requests[0]["messages"][-1]["content"] == "When did it start?"
    assert server.headers[0]["authorization"] == "Bearer sk-test"


@pytest.mark.parametrize(("status", "error"), [(429, litellm.RateLimitError), (500, litellm.InternalServerError)])
def test_injected_status_reaches_the_client(status: int, error: type[Exception]) -> None:
    with FakeOpenAIServer(lambda request: status) as server, pytest.raises(error):
        _ask(server)


def test_latency_is_applied() -> None:
    with FakeOpenAIServer(lambda request: Reply("late", latency=0.3)) as server:
        loop_start = asyncio.run(_timed(server))
    assert loop_start >= 0.3


async def _timed(server: FakeOpenAIServer) -> float:
    start = asyncio.get_running_loop().time()
    await litellm.acompletion(
        model="openai/fake-model",
        api_base=server.url,
        api_key="sk-test",
        messages=[{"role": "user", "content": "x"}],
        num_retries=0,
        max_retries=0,
    )
    return asyncio.get_running_loop().time() - start


def test_a_broken_handler_answers_500_and_is_recorded() -> None:
    with FakeOpenAIServer(lambda request: 1.5) as server:  # type: ignore[arg-type,return-value]
        with pytest.raises(litellm.InternalServerError):
            _ask(server)
    assert server.errors == ["TypeError: FakeOpenAIServer handler must return str, int or Reply, got float"]
