"""One model call through `litellm.acompletion`: concurrency limit, timeout, retries, usage.

Every patient and judge call goes through `ModelCaller.complete`, whatever the backend. We
retry ourselves (LiteLLM's and the OpenAI client's own retries are switched off) so that which
errors are retried, the backoff and the counters live in one place: timeouts, 429, 5xx,
connection errors and empty replies are retried; an authentication or bad-request error is
not (retrying cannot fix it). A call that still fails raises `EnvError`.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import litellm

from grpodx.env.base import EnvError, EnvStats
from grpodx.env.config import ModelConfig

# LiteLLM prints a 'Give Feedback / Get Help' banner on every failed call (21-32 a flaky run);
# our retries, counters and EnvError already say what failed, once.
litellm.suppress_debug_info = True

_RETRYABLE = (
    asyncio.TimeoutError,
    litellm.Timeout,
    litellm.RateLimitError,
    litellm.InternalServerError,
    litellm.ServiceUnavailableError,
    litellm.APIConnectionError,
    litellm.BadGatewayError,
)
_FATAL = (litellm.AuthenticationError, litellm.PermissionDeniedError, litellm.NotFoundError, litellm.BadRequestError)


class EmptyReply(RuntimeError):
    """The model answered with no text."""


def _retryable(error: BaseException) -> bool:
    if isinstance(error, _FATAL):
        return False
    if isinstance(error, (*_RETRYABLE, EmptyReply)):
        return True
    status = getattr(error, "status_code", None)
    return isinstance(status, int) and (status == 429 or status >= 500)


class ModelCaller:
    """Calls one configured model; `stats` accumulates calls, retries, failures and usage."""

    def __init__(self, config: ModelConfig, stats: EnvStats | None = None) -> None:
        self.config = config
        self.stats = stats if stats is not None else EnvStats()
        self._semaphores: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}

    def __repr__(self) -> str:
        return f"ModelCaller({self.config!r})"  # the config's repr leaves the key out

    def _semaphore(self) -> asyncio.Semaphore:
        # A semaphore belongs to one event loop; the rollout may start a new loop every step.
        loop = asyncio.get_running_loop()
        if loop not in self._semaphores:
            self._semaphores = {loop: asyncio.Semaphore(self.config.max_concurrency)}
        return self._semaphores[loop]

    async def complete(self, messages: list[dict[str, str]], seed: int | None = None) -> str:
        """The reply text; retries transient failures, raises `EnvError` when they persist."""
        self.stats.calls += 1
        attempts = self.config.num_retries + 1
        for attempt in range(attempts):
            try:
                async with self._semaphore():
                    return self._account(await self._once(messages, seed))
            except Exception as error:  # classified below: retried, or re-raised as EnvError
                if not _retryable(error) or attempt == attempts - 1:
                    self.stats.failures += 1
                    raise EnvError(f"{self.config.model}: {type(error).__name__}: {self._describe(error)} (after {attempt + 1} attempts)") from error
                self.stats.retries += 1
                await asyncio.sleep(self.config.retry_backoff * 2**attempt * random.uniform(0.8, 1.2))
        raise AssertionError("unreachable: the loop returns or raises")

    async def _once(self, messages: list[dict[str, str]], seed: int | None) -> Any:
        cfg = self.config
        kwargs: dict[str, Any] = {"seed": seed} if seed is not None else {}
        call = litellm.acompletion(
            model=cfg.model,
            messages=messages,
            api_base=cfg.api_base,
            api_key=cfg.api_key,
            temperature=cfg.temperature,
            max_tokens=cfg.max_tokens,
            timeout=cfg.timeout,
            num_retries=0,
            max_retries=0,
            drop_params=True,  # e.g. `seed` where a provider does not take it
            **kwargs,
        )
        # The client timeout does not bind custom providers or a stuck connection; this does.
        response = await asyncio.wait_for(call, timeout=cfg.timeout)
        content = response.choices[0].message.content if response.choices else None
        if not content or not content.strip():
            raise EmptyReply("the model returned an empty reply")
        return response

    def _account(self, response: Any) -> str:
        usage = getattr(response, "usage", None)
        if usage is not None:
            self.stats.prompt_tokens += int(usage.prompt_tokens or 0)
            self.stats.completion_tokens += int(usage.completion_tokens or 0)
        self.stats.cost_usd += self._cost(response)
        return str(response.choices[0].message.content).strip()

    def _cost(self, response: Any) -> float:
        if self.config.model.startswith("grpodx/"):
            return 0.0  # embedded backends cost nothing
        # LiteLLM prices every response as it returns it (None where it knows no price); pricing
        # it again with completion_cost() took a tenth of each call's CPU
        cost = (getattr(response, "_hidden_params", None) or {}).get("response_cost")
        if cost is None:
            self.stats.extra["unpriced_calls"] = self.stats.extra.get("unpriced_calls", 0.0) + 1
            return 0.0
        return float(cost)

    def _describe(self, error: BaseException, limit: int = 300) -> str:
        text = " ".join(str(error).split())
        if self.config.api_key:  # a provider may echo the key back; it must not reach a log
            text = text.replace(self.config.api_key, "***")
        return text if len(text) <= limit else text[:limit] + "..."


class CallerStats:
    """`stats` for a patient or judge that calls its model through `self._caller`."""

    _caller: ModelCaller

    @property
    def stats(self) -> EnvStats:
        return self._caller.stats

    @stats.setter
    def stats(self, value: EnvStats) -> None:  # a caller may swap in fresh counters each step
        self._caller.stats = value
