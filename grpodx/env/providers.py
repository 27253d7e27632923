"""The embedded offline backends, registered as LiteLLM custom providers under `grpodx/`.

    grpodx/scripted-patient   reads the patient sheet from the system message (`scripted.py`)
    grpodx/rubric-judge       reads the grading request from the user message (`rubric.py`)

They receive exactly the messages an LLM would, so switching to `openai/gpt-4o-mini` is a
change of model string. Both are stateless: the rubric grades from the request alone (the
truth, the answer and the judge's ICD-10-CM coding of it, done by `LiteLLMJudge` with the
index it was given), so no diagnosis index lives in LiteLLM's process-wide provider map.
Token counts are whitespace words: the embedded backends have no tokenizer, and cost is zero.

They answer inside `acompletion` without a thread on purpose: an answer is pure-Python string
work (benchmarks/env_calls.py: about 4 ms a patient answer, 0.3 ms a grade, 12% and 2% of a
call's time on a loaded 2-core machine), the GIL would run a thread no sooner, and a thread hop
adds to it. What limits calls/s is LiteLLM's own per-call overhead, which no backend removes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import litellm
from litellm import CustomLLM
from litellm.llms.custom_llm import CustomLLMError
from litellm.types.utils import ModelResponse

from grpodx.clinical.coding import bank_index
from grpodx.env import rubric, scripted
from grpodx.env.prompts import OPENING_PROMPT, SHEET_MARKER, extract_block, read_grade_request

PROVIDER = "grpodx"


def _scripted_patient(messages: list[dict[str, Any]], seed: int) -> str:
    system = next((m for m in messages if m.get("role") == "system"), None)
    if system is None:
        raise ValueError("no system message with the patient sheet")
    sheet = scripted.PatientSheet.from_json(extract_block(str(system["content"]), SHEET_MARKER))
    turns = [m for m in messages if m.get("role") in ("user", "assistant")]
    if not turns or turns[-1]["role"] != "user":
        raise ValueError("the last message must be the doctor's (role 'user')")
    if len(turns) == 1 and turns[0]["content"] == OPENING_PROMPT:
        return scripted.opening(sheet, seed)
    return scripted.answer(sheet, str(turns[-1]["content"]), seed)


def _rubric_judge(messages: list[dict[str, Any]], seed: int) -> str:
    truth, diagnosis, _differential, coding = read_grade_request(messages)
    # The gate LiteLLMJudge applies before asking (`rubric.gate`, one function for both), here
    # over the bank's index and the truth's names, for a request that did not come through it.
    refusal = rubric.gate(diagnosis, bank_index(), truth.names) if diagnosis.strip() else "is empty"
    score, rationale = rubric.grade(truth, diagnosis, coding, refusal)
    return json.dumps({"score": score, "rationale": rationale})


BACKENDS: dict[str, Callable[[list[dict[str, Any]], int], str]] = {
    "scripted-patient": _scripted_patient,
    "rubric-judge": _rubric_judge,
}


class GrpodxProvider(CustomLLM):
    """Answers `grpodx/<backend>` model strings in-process."""

    def _respond(self, model: str, messages: list[dict[str, Any]], model_response: ModelResponse, optional_params: dict) -> ModelResponse:
        backend = BACKENDS.get(model.split("/")[-1])
        if backend is None:
            raise CustomLLMError(404, f"unknown model {PROVIDER}/{model}; known: {', '.join(f'{PROVIDER}/{b}' for b in BACKENDS)}")
        try:
            text = backend(messages, int(optional_params.get("seed") or 0))
        except (ValueError, KeyError, TypeError) as error:  # a malformed request: retrying cannot help
            raise CustomLLMError(400, f"{PROVIDER}/{model}: bad request: {error}") from error
        model_response.choices[0].message.content = text
        model_response.model = f"{PROVIDER}/{model}"
        prompt = sum(len(str(m.get("content", "")).split()) for m in messages)
        model_response.usage = litellm.Usage(prompt_tokens=prompt, completion_tokens=len(text.split()), total_tokens=prompt + len(text.split()))  # type: ignore[attr-defined]
        return model_response

    def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> ModelResponse:
        return self._respond(model, messages, kwargs["model_response"], kwargs.get("optional_params") or {})

    async def acompletion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> ModelResponse:
        return self._respond(model, messages, kwargs["model_response"], kwargs.get("optional_params") or {})


_PROVIDER = GrpodxProvider()


def register() -> None:
    """Make `grpodx/...` model strings answerable by LiteLLM (idempotent)."""
    if not any(entry.get("provider") == PROVIDER for entry in litellm.custom_provider_map):
        litellm.custom_provider_map = [*litellm.custom_provider_map, {"provider": PROVIDER, "custom_handler": _PROVIDER}]
