"""Case cards written by an LLM: the disease is fixed before any conversation.

Cards are asked for one at a time (through `env.calls.ModelCaller`), each prompt listing the
diagnoses already written so the model does not repeat them, and suggesting a body system in
rotation so the set spreads over the bank's systems. A reply is accepted only when it is JSON
that the case parser accepts, names a diagnosis not yet generated (as the judge counts
diagnoses: `clinical.coding.concept_key`), and neither its complaint nor its facts give the
diagnosis away; otherwise the model is told what was wrong and asked again, up to
`max_retries` times. Each request goes through the patient's and judge's `ModelCaller`
(timeouts, 429 and 5xx retried with backoff); a request that still fails counts as a failed
attempt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import litellm

from grpodx.cases.checks import name_leaks
from grpodx.cases.errors import CaseError
from grpodx.cases.jsonl import parse_case
from grpodx.cases.schema import BODY_SYSTEMS, FACT_KINDS, Case
from grpodx.cases.variation import slug
from grpodx.env.base import EnvError
from grpodx.env.calls import ModelCaller
from grpodx.env.config import ModelConfig

SYSTEMS = tuple(s for s in BODY_SYSTEMS if s != "other")

SYSTEM_PROMPT = f"""You write realistic clinical case cards for training doctors in diagnosis by interview.
Reply with ONE JSON object and nothing else, with these fields:
  "diagnosis": the hidden diagnosis (string)
  "aliases": other names that count as the same diagnosis: abbreviations, eponyms, spellings (list)
  "icd10": its ICD-10 code, such as "I21.9"
  "body_system": one of {", ".join(SYSTEMS)}
  "age": the patient's age in years (integer); "sex": "female" or "male"
  "chief_complaint": the patient's opening words, first person, without naming any diagnosis
  "facts": 10 to 14 atomic facts, each {{"kind": one of {", ".join(FACT_KINDS)}, "text": what the
    patient says (first person) or what the exam or test shows, "ask": 2-6 lower-case cue words
    a doctor's question would contain}}; include pertinent negatives, exam findings and test results.
No chief complaint or fact may contain the diagnosis or any alias."""


@dataclass
class GenerationResult:
    cases: list[Case] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    """One line per card that stayed invalid after every retry: its last problem."""
    attempts: int = 0
    stopped: str = ""
    """Why generation stopped before `n` cards: no credentials, an authentication error, or a
    first request that failed (a wrong model or server fails every request alike)."""


class GenerationStopped(Exception):
    """An error that every further request would repeat, so none is made."""


def missing_credentials(model: str, api_key: str | None, api_base: str | None) -> str:
    """'' when LiteLLM finds the provider's key (or one is given), else the variable to set."""
    if api_key:
        return ""
    missing = [k for k in litellm.validate_environment(model=model, api_base=api_base).get("missing_keys", []) if "KEY" in k]
    return f"{model} needs {' or '.join(missing)} in the environment (or --api-key)" if missing else ""


def card_json(reply: str) -> Any:
    """The JSON object in a reply, tolerating a ``` fence or a sentence around it."""
    start, end = reply.find("{"), reply.rfind("}")
    if start < 0 or end < start:
        raise ValueError("no JSON object in the reply")
    return json.loads(reply[start : end + 1])


def check_card(reply: str, where: str, taken: set[str]) -> Case:
    """A valid new case from one reply, or ValueError/CaseError saying what is wrong. `taken`:
    the `diagnosis_keys` of the cards already generated."""
    raw = card_json(reply)
    if not isinstance(raw, dict):
        raise ValueError("the JSON must be an object")
    name = str(raw.get("diagnosis", ""))
    raw = {**raw, "id": f"generated/{slug(name) or 'unnamed'}", "source": "generated"}
    case = parse_case(raw, where)
    repeated = [n for n in case.names if diagnosis_keys([n]) & taken]
    if repeated:
        raise ValueError(f"{repeated[0]!r} was already generated; choose a different disease")
    leaks = name_leaks(case)
    if leaks:
        raise ValueError(f"the card gives its diagnosis away ({'; '.join(leaks)}); rewrite those texts")
    return case


def diagnosis_keys(names: list[str]) -> set[str]:
    """The judge's keys of `names` (`concept_key` over the bank and ICD-10-CM): a card naming
    "heart attack" repeats one that named "Myocardial infarction"."""
    from grpodx.clinical.coding import bank_index, concept_key  # the ICD-10-CM code set takes seconds to import

    return {concept_key(n, bank_index()) for n in names}


def card_request(index: int, seed: int, taken: list[str]) -> str:
    system = SYSTEMS[(seed + index) % len(SYSTEMS)]
    avoid = f" Do not use any of these diagnoses: {'; '.join(taken)}." if taken else ""
    return f"Write case card {index + 1}, a disease of the {system} system.{avoid}"


async def generate_card(index: int, caller: ModelCaller, seed: int, max_retries: int, result: GenerationResult) -> Case | None:
    """One valid card, or None (with the last problem in `result.failures`) after every retry failed."""
    request = card_request(index, seed, [c.diagnosis for c in result.cases])
    messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": request}]
    taken = diagnosis_keys([n for c in result.cases for n in c.names])
    problem = ""
    for attempt in range(max_retries + 1):
        result.attempts += 1
        try:
            reply = await caller.complete(messages, seed=seed + index)
        except EnvError as error:  # the caller retried what a retry can fix; this one stays failed
            stop = _stop_reason(error, caller.config.model, first=result.attempts == 1)
            if stop:
                raise GenerationStopped(stop) from error
            problem = f"API error: {error}"
            continue
        try:
            return check_card(reply, f"card {index + 1} attempt {attempt + 1}", taken)
        except (ValueError, CaseError) as error:  # json.JSONDecodeError is a ValueError
            problem = str(error)
            messages += [
                {"role": "assistant", "content": reply},
                {"role": "user", "content": f"That card is invalid: {problem}. Reply with the corrected JSON object only."},
            ]
    result.failures.append(f"card {index + 1}: {problem}")
    return None


async def generate_cases(
    model: str,
    n: int,
    *,
    api_base: str | None = None,
    api_key: str | None = None,
    seed: int = 0,
    max_retries: int = 3,
    temperature: float = 0.9,
    timeout: float = 120.0,
) -> GenerationResult:
    """`n` cards, one after another (each prompt lists the diagnoses before it)."""
    # a card of 10-14 facts is about a thousand tokens; 2048 leaves room for a sentence around it
    caller = ModelCaller(ModelConfig(model=model, api_base=api_base, api_key=api_key, temperature=temperature, max_tokens=2048, timeout=timeout))
    litellm.suppress_debug_info = True  # one line per problem, not LiteLLM's banner per failed call
    result = GenerationResult(stopped=missing_credentials(model, api_key, api_base))
    for index in range(n if not result.stopped else 0):
        try:
            case = await generate_card(index, caller, seed, max_retries, result)
        except GenerationStopped as error:
            result.stopped = str(error)
            break
        if case is not None:
            result.cases.append(case)
    return result


def _stop_reason(error: EnvError, model: str, first: bool) -> str:
    """Why no further request should be made after `error`, or '' when the next may succeed:
    an authentication error, or the very first request failing (the model or server is wrong,
    not unlucky)."""
    cause = error.__cause__ if isinstance(error.__cause__, Exception) else error
    if isinstance(cause, litellm.AuthenticationError):
        return f"authentication failed for {model}: {_first_line(cause)}"
    return f"the first request to {model} failed: {type(cause).__name__}: {_first_line(cause)}" if first else ""


def _first_line(error: Exception) -> str:
    return next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)[:300]
