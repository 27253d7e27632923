"""Patient and judge: LiteLLM model strings, from the embedded offline backends to any API.

patient = build_patient(PatientConfig())                       # grpodx/scripted-patient
judge = build_judge(JudgeConfig(model="openai/gpt-4o-mini"), DiagnosisIndex.for_cases(data.judge_cases()))
text = await patient.opening(case, seed)
verdict = await judge.score(case, "pneumonia", ["pulmonary embolism"])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from grpodx.env.base import EnvError, EnvStats, Judge, Patient
from grpodx.env.config import RUBRIC_JUDGE, SCRIPTED_PATIENT, JudgeConfig, PatientConfig

if TYPE_CHECKING:
    from grpodx.cases.schema import Case  # noqa: F401
    from grpodx.env.rubric import DiagnosisIndex

# LiteLLM (seconds to import) is loaded only when a patient or judge is built, so that reading
# the configs (`fit --help`, `--print_config`) does not pay for it.

__all__ = [
    "RUBRIC_JUDGE",
    "SCRIPTED_PATIENT",
    "DiagnosisIndex",
    "EnvError",
    "EnvStats",
    "Judge",
    "JudgeConfig",
    "Patient",
    "PatientConfig",
    "build_judge",
    "build_patient",
]


def build_patient(config: PatientConfig) -> Patient:
    """The patient for `config.model`; `grpodx/...` models are registered with LiteLLM first."""
    from grpodx.env.patient import LiteLLMPatient
    from grpodx.env.providers import register

    register()
    return LiteLLMPatient(config)


def build_judge(config: JudgeConfig, index: DiagnosisIndex) -> Judge:
    """The judge for `config.model`, coding answers with `index` (the bank's and the loaded
    cases' names over ICD-10-CM: `DiagnosisIndex.for_cases(cases)`)."""
    from grpodx.env.rubric import DiagnosisIndex

    if not isinstance(index, DiagnosisIndex):
        raise TypeError(f"build_judge: index must be a DiagnosisIndex (DiagnosisIndex.for_cases(cases)), got {type(index).__name__}")
    from grpodx.env.judge import LiteLLMJudge
    from grpodx.env.providers import register

    register()
    return LiteLLMJudge(config, index)


def __getattr__(name: str) -> object:
    """`DiagnosisIndex` loads the ICD-10-CM code set (seconds): only when it is asked for."""
    if name == "DiagnosisIndex":
        from grpodx.env.rubric import DiagnosisIndex

        return DiagnosisIndex
    raise AttributeError(f"module 'grpodx.env' has no attribute {name!r}")
