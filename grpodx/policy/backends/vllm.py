"""Unsloth with vLLM on a GPU (`policy.fast_inference`): rollouts sampled through vLLM from the adapter being trained.

Unsloth's vLLM engine shares the frozen base weights with the training model. The LoRA weights
are synced on every call: `model.load_lora(name, load_tensors=True)` builds the LoRA request
from the adapter tensors in memory at that moment, so each rollout samples from exactly the
weights of the last optimizer step (nothing goes through disk, nothing can go stale).
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

import torch

from grpodx.policy.backends.unsloth import UnslothBackend

if TYPE_CHECKING:
    from grpodx.policy.policy import Policy
    from grpodx.rollout.decode import SequenceCache


def vllm_installed() -> bool:
    """vLLM is installed, so Unsloth can sample through it (`fast_inference`)."""
    return importlib.util.find_spec("vllm") is not None


class VllmBackend(UnslothBackend):
    name = "vllm"
    vllm = True

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
        """Token ids in, sampled ids out, each ending at its first stop token; vLLM keeps its own
        prefix cache (`caches` unused) and its own RNG (`generator` unused)."""
        from vllm import SamplingParams

        params = SamplingParams(
            max_tokens=max_new_tokens,
            temperature=temperature,
            top_p=top_p if temperature > 0 else 1.0,
            stop_token_ids=policy.stop_ids,
            skip_special_tokens=False,
        )
        lora = policy.model.load_lora("grpodx_rollout", load_tensors=True)
        outputs = policy.model.fast_generate([{"prompt_token_ids": p} for p in prompts], sampling_params=params, lora_request=lora, use_tqdm=False)
        completions = []
        for output in outputs:
            ids = list(output.outputs[0].token_ids)
            stop = next((i for i, token in enumerate(ids) if token in policy.stop_ids), None)
            completions.append(ids if stop is None else ids[: stop + 1])
        return completions
