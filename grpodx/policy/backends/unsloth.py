"""Unsloth on a CUDA GPU: its fast kernels for the update, `transformers.generate` for rollouts.

Unsloth is an optional GPU extra (`pip install 'grpodx[gpu]'`); this module imports without it, and
each way it cannot run is a one-line BackendError.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from grpodx.policy.backends.base import BackendError, DoctorBackend, first_line
from grpodx.policy.loading import fit_lora_targets, resolved
from grpodx.policy.models import hub_offline
from grpodx.policy.tiny import TINY_MODEL

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from grpodx.policy.policy import Policy, PolicyConfig
    from grpodx.rollout.decode import SequenceCache


def import_unsloth() -> Any:
    """Unsloth's FastLanguageModel, or a one-line BackendError."""
    try:
        from unsloth import FastLanguageModel
    except ImportError as error:
        if importlib.util.find_spec("unsloth") is None:
            raise BackendError("policy.backend 'unsloth' is not installed: `pip install 'grpodx[gpu]'` on a CUDA machine") from error
        raise BackendError(f"unsloth is installed but does not import ({first_line(error)})") from error
    except Exception as error:  # unsloth raises NotImplementedError, RuntimeError... without a GPU
        raise BackendError(f"unsloth does not import here ({type(error).__name__}: {first_line(error)})") from error
    return FastLanguageModel


class UnslothBackend(DoctorBackend):
    name = "unsloth"
    vllm: ClassVar[bool] = False
    """Load with Unsloth's vLLM engine attached (`fast_inference`, the vllm backend)."""

    def load(self, config: PolicyConfig) -> tuple[Any, PreTrainedTokenizerBase]:
        fast_language_model = import_unsloth()
        engine = {"fast_inference": True, "max_lora_rank": config.lora.r, "gpu_memory_utilization": config.gpu_memory_utilization} if self.vllm else {}
        model, tokenizer = fast_language_model.from_pretrained(
            model_name=config.adapter_path or _unsloth_source(config),
            max_seq_length=config.max_seq_len,
            dtype={"bf16": torch.bfloat16, "fp32": torch.float32}.get(config.precision),  # None: Unsloth picks
            load_in_4bit=config.load_in_4bit,
            **engine,
        )
        if config.adapter_path:  # Unsloth loads the base named in the adapter's config, and the adapter
            return model, tokenizer
        model = fast_language_model.get_peft_model(
            model,
            r=config.lora.r,
            lora_alpha=config.lora.alpha,
            lora_dropout=config.lora.dropout,
            target_modules=fit_lora_targets(model, config.lora.target_modules, expand_all=True),
            use_gradient_checkpointing="unsloth" if config.gradient_checkpointing else False,
        )
        return model, tokenizer

    @contextmanager
    def inference(self, model: Any) -> Iterator[None]:
        """Unsloth's own inference mode around the plain one, and its training mode after."""
        fast_language_model = import_unsloth()
        fast_language_model.for_inference(model)
        try:
            with super().inference(model):
                yield
        finally:
            fast_language_model.for_training(model)

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
        """Through `transformers.generate`: Unsloth's patched attention is only known to work there
        (no KV caches kept between calls; `generator` is not used, torch's global RNG is)."""
        return policy.hf_generate(prompts, max_new_tokens, temperature, top_p)


def _unsloth_source(config: PolicyConfig) -> str:
    """A hub id goes to Unsloth as is where the hub is reachable: with load_in_4bit it then
    fetches its pre-quantized copy (a quarter of the download). Otherwise the resolver's folder."""
    local = Path(config.model).expanduser().is_dir() or config.model == TINY_MODEL
    if local or hub_offline() or "/" not in config.model:
        return resolved(config)
    return config.model
