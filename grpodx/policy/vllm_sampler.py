"""Rollout sampling through vLLM on a GPU (Unsloth's `fast_inference`), from the adapter being trained.

Unsloth's vLLM engine shares the frozen base weights with the training model. The LoRA weights
are synced on every call: `model.load_lora(name, load_tensors=True)` builds the LoRA request
from the adapter tensors in memory at that moment, so each rollout samples from exactly the
weights of the last optimizer step (nothing goes through disk, nothing can go stale).
"""

from __future__ import annotations

from typing import Any


class VllmSampler:
    def __init__(self, model: Any, stop_ids: list[int]) -> None:  # an Unsloth model with vLLM attached
        self.model = model
        self.stop_ids = stop_ids

    def generate(self, prompts: list[list[int]], max_new_tokens: int, temperature: float = 1.0, top_p: float = 1.0) -> list[list[int]]:
        """Token ids in, sampled ids out; each completion ends at its first stop token, as Policy.generate's."""
        from vllm import SamplingParams

        params = SamplingParams(
            max_tokens=max_new_tokens,
            temperature=temperature,
            top_p=top_p if temperature > 0 else 1.0,
            stop_token_ids=self.stop_ids,
            skip_special_tokens=False,
        )
        lora = self.model.load_lora("grpodx_rollout", load_tensors=True)
        outputs = self.model.fast_generate([{"prompt_token_ids": p} for p in prompts], sampling_params=params, lora_request=lora, use_tqdm=False)
        completions = []
        for output in outputs:
            ids = list(output.outputs[0].token_ids)
            stop = next((i for i, token in enumerate(ids) if token in self.stop_ids), None)
            completions.append(ids if stop is None else ids[: stop + 1])
        return completions
