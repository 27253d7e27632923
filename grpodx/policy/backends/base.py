"""What a backend is: the library that loads the doctor, switches it to inference and samples from it.

One object per backend (hf.py, unsloth.py, vllm.py) behind this small interface; `Policy` holds
one and never asks which it is. Everything else (log-probs, the reference pass, adapter export)
goes through PEFT, which every backend's model is wrapped in.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import torch

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from grpodx.policy.policy import Policy, PolicyConfig
    from grpodx.rollout.decode import SequenceCache

Backend = Literal["auto", "unsloth", "hf"]


class BackendError(RuntimeError):
    """The configured backend cannot run here; the message is one line saying why and what to do."""


class DoctorBackend(ABC):
    """Loads the doctor as a PEFT-wrapped causal LM and samples rollouts from it."""

    name: ClassVar[str]
    """How `policy.backend` and the logs call it: 'hf', 'unsloth' or 'vllm'."""

    @abstractmethod
    def load(self, config: PolicyConfig) -> tuple[Any, PreTrainedTokenizerBase]:
        """The model with its LoRA adapter (fresh, or `config.adapter_path`) and its tokenizer."""

    @abstractmethod
    def sample(
        self,
        policy: Policy,
        prompts: list[list[int]],
        max_new_tokens: int,
        temperature: float,
        top_p: float,
        caches: list[SequenceCache] | None,
        generator: torch.Generator | None,
    ) -> list[list[int]]:
        """One batched sampling call, as `Policy.generate` describes it."""

    @contextmanager
    def inference(self, model: Any) -> Iterator[None]:
        """Eval mode and no autograd for sampling; the training mode comes back after."""
        was_training = model.training
        model.eval()
        try:
            with torch.inference_mode():  # cheaper than no_grad per op; nothing made here is trained through
                yield
        finally:
            model.train(was_training)


def first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0][:200]
