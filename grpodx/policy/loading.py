"""Load the doctor for training: resolve the model, load it on its backend and in its precision,
and wrap it in a LoRA adapter whose targets fit the loaded model's real module names.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import nn

from grpodx.policy.backends import fast_inference_available, import_unsloth
from grpodx.policy.models import hub_offline, resolve_model
from grpodx.policy.tiny import TINY_MODEL

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from grpodx.policy.policy import PolicyConfig

Precision = Literal["auto", "bf16", "fp32"]
# Phi-3/Phi-4 (Microsoft's releases) fuse projections that Llama-style checkpoints, Unsloth's
# Phi-4 among them, keep separate; a target list written for one layout fits the other.
FUSED = {"qkv_proj": ("q_proj", "k_proj", "v_proj"), "gate_up_proj": ("gate_proj", "up_proj")}


def bf16_supported(device_type: str) -> bool:
    """bf16 math runs natively: a CUDA GPU with bf16, or a CPU with AVX512-BF16 or AMX."""
    if device_type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device_type == "cpu":
        try:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            return False
    return False


def compute_dtype(precision: Precision, device_type: str) -> torch.dtype | None:
    """The autocast dtype of forward passes on this device; None is plain float32."""
    if precision == "bf16" or (precision == "auto" and bf16_supported(device_type)):
        return torch.bfloat16
    return None


def autocast(precision: Precision, device: torch.device) -> AbstractContextManager:
    dtype = compute_dtype(precision, device.type)
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()


def weights_dtype(precision: Precision) -> torch.dtype:
    """bf16 weights on a GPU; on a CPU float32 master weights, with bf16 autocast over them."""
    return torch.bfloat16 if torch.cuda.is_available() and compute_dtype(precision, "cuda") else torch.float32


def fit_lora_targets(model: nn.Module, targets: list[str] | str, expand_all: bool = False) -> list[str] | str:
    """Map `lora.target_modules` onto the model's linear layers, fused or separate.

    A name the model lacks is replaced by its fused or split form (`q_proj` -> `qkv_proj`,
    `gate_up_proj` -> `gate_proj`, `up_proj`); a name that fits nothing is an error, since a
    silent miss trains nothing. `expand_all` spells out 'all-linear' (minus the output head).
    """
    names = {name.rsplit(".", 1)[-1] for name, module in model.named_modules() if isinstance(module, nn.Linear)}
    if targets == "all-linear":
        return sorted(names - {"lm_head"}) if expand_all else targets
    if isinstance(targets, str):
        targets = [targets]
    fitted, missing = [], []
    for target in targets:
        fused = next((whole for whole, parts in FUSED.items() if target in parts and whole in names), None)
        if target in names:
            fitted.append(target)
        elif fused:
            fitted.append(fused)
        elif target in FUSED and all(part in names for part in FUSED[target]):
            fitted += FUSED[target]
        else:
            missing.append(target)
    if missing:
        raise ValueError(
            f"lora.target_modules {missing} match no linear layer of this model, fused or separate; its linear layers are {sorted(names)} (or use 'all-linear')"
        )
    return list(dict.fromkeys(fitted))


def load_hf(config: PolicyConfig) -> tuple[Any, PreTrainedTokenizerBase]:
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


def load_unsloth(config: PolicyConfig) -> tuple[Any, PreTrainedTokenizerBase, bool]:
    """(model, tokenizer, whether it samples through vLLM) on a CUDA GPU."""
    fast_language_model = import_unsloth()
    fast = config.fast_inference and fast_inference_available()
    vllm = {"fast_inference": True, "max_lora_rank": config.lora.r, "gpu_memory_utilization": config.gpu_memory_utilization} if fast else {}
    model, tokenizer = fast_language_model.from_pretrained(
        model_name=config.adapter_path or _unsloth_source(config),
        max_seq_length=config.max_seq_len,
        dtype={"bf16": torch.bfloat16, "fp32": torch.float32}.get(config.precision),  # None: Unsloth picks
        load_in_4bit=config.load_in_4bit,
        **vllm,
    )
    if config.adapter_path:  # Unsloth loads the base named in the adapter's config, and the adapter
        return model, tokenizer, fast
    model = fast_language_model.get_peft_model(
        model,
        r=config.lora.r,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules=fit_lora_targets(model, config.lora.target_modules, expand_all=True),
        use_gradient_checkpointing="unsloth" if config.gradient_checkpointing else False,
    )
    return model, tokenizer, fast


def _unsloth_source(config: PolicyConfig) -> str:
    """A hub id goes to Unsloth as is where the hub is reachable: with load_in_4bit it then
    fetches its pre-quantized copy (a quarter of the download). Otherwise the resolver's folder."""
    local = Path(config.model).expanduser().is_dir() or config.model == TINY_MODEL
    if local or hub_offline() or "/" not in config.model:
        return resolved(config)
    return config.model


def resolved(config: PolicyConfig) -> str:
    """The model's folder. A first run builds or converts it (the tiny model seeds and trains its
    own weights), so torch's random state is kept aside: the LoRA init that follows is the same
    whether the folder was made now or found in the cache, and a resumed run matches."""
    with torch.random.fork_rng(devices=[]):
        return resolve_model(config.model, config.cache_dir)
