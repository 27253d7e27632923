"""Patient and judge: LiteLLM model strings, from the embedded offline backends to any API.

    patient = build_patient(PatientConfig())                       # grpodx/scripted-patient
    judge = build_judge(JudgeConfig(model="openai/gpt-4o-mini"), known_cases=train_cases)
    text = await patient.opening(case, seed)
    verdict = await judge.score(case, "pneumonia", ["pulmonary embolism"])
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from grpodx.env.base import EnvError, EnvStats, Judge, Message, Patient, Verdict
from grpodx.env.config import RUBRIC_JUDGE, SCRIPTED_PATIENT, JudgeConfig, PatientConfig

if TYPE_CHECKING:
    from grpodx.cases.schema import Case

# LiteLLM (seconds to import) is loaded only when a patient or judge is built, so that reading
# the configs (`fit --help`, `--print_config`) does not pay for it.

__all__ = [
    "RUBRIC_JUDGE",
    "SCRIPTED_PATIENT",
    "EnvError",
    "EnvStats",
    "Judge",
    "JudgeConfig",
    "Message",
    "Patient",
    "PatientConfig",
    "Verdict",
    "build_judge",
    "build_patient",
]


def build_patient(config: PatientConfig) -> Patient:
    """The patient for `config.model`; `grpodx/...` models are registered with LiteLLM first."""
    from grpodx.env.patient import LiteLLMPatient
    from grpodx.env.providers import register

    register()
    return LiteLLMPatient(config)


def build_judge(config: JudgeConfig, known_cases: Iterable[Case] = ()) -> Judge:
    """The judge for `config.model`. `known_cases` extend the index of diagnosis names the rubric
    uses for partial credit (and fallback) beyond the built-in bank."""
    from grpodx.env.judge import LiteLLMJudge
    from grpodx.env.providers import known_diagnoses, register

    register(known_cases)
    return LiteLLMJudge(config, known_diagnoses())
