"""The embedded offline backends, registered as LiteLLM custom providers under `grpodx/`.

    grpodx/scripted-patient   reads the patient sheet from the system message (`scripted.py`)
    grpodx/rubric-judge       reads the grading request from the user message (`rubric.py`)

They receive exactly the messages an LLM would, so switching to `openai/gpt-4o-mini` is a
change of model string. LiteLLM's provider map is process-wide, so the rubric's index of known
diagnoses is too: `register(known_cases)` extends it (built-in bank first, first name wins).
Token counts are whitespace words: the embedded backends have no tokenizer, and cost is zero.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import litellm
from litellm import CustomLLM
from litellm.llms.custom_llm import CustomLLMError
from litellm.types.utils import ModelResponse

from grpodx.cases.bank import builtin_templates
from grpodx.cases.schema import Case
from grpodx.env import rubric, scripted
from grpodx.env.prompts import OPENING_PROMPT, SHEET_MARKER, extract_block, read_grade_request

PROVIDER = "grpodx"
_INDEX: rubric.DiagnosisIndex | None = None


def known_diagnoses() -> rubric.DiagnosisIndex:
    """The process-wide index the rubric judge grades near misses with."""
    global _INDEX
    if _INDEX is None:
        _INDEX = rubric.DiagnosisIndex()
        _INDEX.add_templates(builtin_templates())
    return _INDEX


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
    truth, diagnosis, _differential = read_grade_request(messages)
    score, rationale = rubric.grade(truth, diagnosis, known_diagnoses())
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
        model_response.choices[0].message.content = text  # type: ignore[union-attr]
        model_response.model = f"{PROVIDER}/{model}"
        prompt = sum(len(str(m.get("content", "")).split()) for m in messages)
        model_response.usage = litellm.Usage(prompt_tokens=prompt, completion_tokens=len(text.split()), total_tokens=prompt + len(text.split()))  # type: ignore[attr-defined]
        return model_response

    def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> ModelResponse:  # type: ignore[override]
        return self._respond(model, messages, kwargs["model_response"], kwargs.get("optional_params") or {})

    async def acompletion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> ModelResponse:  # type: ignore[override]
        return self._respond(model, messages, kwargs["model_response"], kwargs.get("optional_params") or {})


_PROVIDER = GrpodxProvider()


def register(known_cases: Iterable[Case] = ()) -> None:
    """Make `grpodx/...` model strings answerable by LiteLLM (idempotent) and index the cases."""
    if not any(entry.get("provider") == PROVIDER for entry in litellm.custom_provider_map):
        litellm.custom_provider_map = [*litellm.custom_provider_map, {"provider": PROVIDER, "custom_handler": _PROVIDER}]
    known_diagnoses().add_cases(known_cases)
