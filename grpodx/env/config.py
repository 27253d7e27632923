"""Patient and judge settings: a LiteLLM model string plus how to call it.

The defaults are the embedded offline backends. Any LiteLLM model string works instead
(`openai/gpt-4o-mini`, `ollama/llama3.1`, `hosted_vllm/<name>` with `api_base`, ...).
`api_key` is optional: left empty, LiteLLM reads the provider's variable (OPENAI_API_KEY,
ANTHROPIC_API_KEY, AZURE_API_KEY, ...). It is kept out of repr() so that it cannot reach a log
through a printed config; `grpodx.run.secrets` redacts saved configs and hyperparameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from grpodx.run.knobs import require

MASKED_KEY = "***"
"""What a saved config.yaml holds in place of a key (`grpodx.run.secrets.MASK`): never sent."""
SCRIPTED_PATIENT = "grpodx/scripted-patient"
RUBRIC_JUDGE = "grpodx/rubric-judge"


@dataclass
class ModelConfig:
    """How to reach one model through LiteLLM."""

    key: ClassVar[str] = "model"
    """Where this config sits in the YAML, for error messages."""
    model: str = ""
    """LiteLLM model string, e.g. 'openai/gpt-4o-mini' or 'grpodx/scripted-patient'."""
    api_base: str | None = None
    """Server URL for self-hosted or proxied models (vLLM, Ollama, Azure endpoint)."""
    api_key: str | None = field(default=None, repr=False)
    """Leave empty to use the provider's environment variable (recommended)."""
    temperature: float = 0.0
    """Sampling temperature of the model's replies."""
    max_tokens: int = 256
    """Longest reply, in the model's tokens."""
    timeout: float = 60.0
    """Seconds one call may take before it counts as failed (and is retried)."""
    num_retries: int = 3
    """Retries after a timeout, 429 or 5xx, with exponential backoff."""
    retry_backoff: float = 1.0
    """Seconds before the first retry; doubles each time (tests set it tiny)."""
    max_concurrency: int = 16
    """Calls in flight at once for this component, over all episodes."""

    def __post_init__(self) -> None:
        require(
            self.key,
            {
                "model": (bool(self.model.strip()) and "/" in self.model, "a LiteLLM 'provider/model' string"),
                "temperature": (0.0 <= self.temperature <= 2.0, "in [0, 2]"),
                "max_tokens": (self.max_tokens > 0, "> 0"),
                "timeout": (self.timeout > 0, "> 0"),
                "num_retries": (self.num_retries >= 0, ">= 0"),
                "retry_backoff": (self.retry_backoff >= 0, ">= 0"),
                "max_concurrency": (self.max_concurrency > 0, "> 0"),
                "api_key": (self.api_key != MASKED_KEY, f"a key, not the mask a saved config.yaml holds: remove api_key and set {self.key_variable}"),
            },
            self,
        )

    @property
    def key_variable(self) -> str:
        """The environment variable LiteLLM reads this provider's key from ('openai/...' -> OPENAI_API_KEY)."""
        return f"{self.model.split('/')[0].upper().replace('-', '_')}_API_KEY"


@dataclass
class PatientConfig(ModelConfig):
    """The patient simulator. Low temperature keeps a group's G episodes comparable."""

    key: ClassVar[str] = "model.patient"
    model: str = SCRIPTED_PATIENT
    temperature: float = 0.2
    max_tokens: int = 200


@dataclass
class JudgeConfig(ModelConfig):
    """The diagnosis judge."""

    key: ClassVar[str] = "model.judge"
    model: str = RUBRIC_JUDGE
    max_tokens: int = 300
    process_weight: float = 0.0
    """Weight of the optional process score (interview quality over the transcript) in
    `Verdict.total`; 0 skips the extra call. Needs an LLM judge."""

    def __post_init__(self) -> None:
        super().__post_init__()
        require(
            self.key,
            {
                "process_weight": (0.0 <= self.process_weight <= 1.0, "in [0, 1]"),
            },
            self,
        )
        require(
            self.key,
            {
                "process_weight": (
                    self.process_weight == 0 or self.model != RUBRIC_JUDGE,
                    f"0 with {RUBRIC_JUDGE}, which grades diagnoses only (a process score needs an LLM judge model)",
                ),
            },
            self,
        )
