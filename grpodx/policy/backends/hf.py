"""transformers + PEFT: the doctor on any device, sampled by grpodx's own KV-cache decode loop."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from grpodx.policy.backends.base import DoctorBackend
from grpodx.policy.loading import fit_lora_targets, resolved, weights_dtype
from grpodx.rollout.decode import SequenceCache, sample

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from grpodx.policy.policy import Policy, PolicyConfig


class HfBackend(DoctorBackend):
    name = "hf"

    def load(self, config: PolicyConfig) -> tuple[Any, PreTrainedTokenizerBase]:
        from peft import LoraConfig as PeftLora
        from peft import PeftModel, get_peft_model
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = resolved(config)
        tokenizer = AutoTokenizer.from_pretrained(path)
        quantized = {}
        if config.load_in_4bit:
            from transformers import BitsAndBytesConfig

            quantized["quantization_config"] = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=weights_dtype(config.precision), **quantized)
        if config.gradient_checkpointing:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            model.enable_input_require_grads()
        if config.adapter_path:
            return PeftModel.from_pretrained(model, config.adapter_path, is_trainable=True), tokenizer
        lora = PeftLora(
            r=config.lora.r,
            lora_alpha=config.lora.alpha,
            lora_dropout=config.lora.dropout,
            target_modules=fit_lora_targets(model, config.lora.target_modules),
            task_type="CAUSAL_LM",
        )
        return get_peft_model(model, lora), tokenizer

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
        """Through the KV-cache decode loop: only what each sequence appended since its cache is encoded."""
        caches = caches if caches is not None else [SequenceCache() for _ in prompts]
        with self.inference(policy.model), policy.autocast():
            return sample(
                policy.model,
                prompts,
                caches,
                max_new_tokens=max_new_tokens,
                temperature=temperature,
                top_p=top_p,
                stop_ids=policy.stop_ids,
                pad_id=policy.tokenizer.pad_token_id,
                stats=policy.decode_stats,
                generator=generator,
            )
