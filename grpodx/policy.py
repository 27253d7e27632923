"""The doctor: a causal LM with a LoRA adapter, through transformers + PEFT or Unsloth.

Generation, token log-probs, reference log-probs (the same weights with the adapter disabled,
so the KL reference costs no memory) and adapter export. The rollout feeds it token ids and
gets token ids back: it never re-tokenizes text it trains on.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import Tensor, nn

from grpodx.knobs import require
from grpodx.model_card import AdapterCard, write_card
from grpodx.models import resolve_model

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


@dataclass
class LoraConfig:
    """The LoRA adapter: the only weights GRPO trains."""

    r: int = 16
    """LoRA rank (the original's --lora-rank)."""
    alpha: int = 32
    """LoRA scaling numerator: the update is scaled by alpha / r."""
    dropout: float = 0.0
    """0 keeps the sampling policy and the trained policy the same function."""
    target_modules: list[str] | str = "all-linear"
    """Module names to adapt, or 'all-linear'. Phi-3/Phi-4 name theirs qkv_proj, o_proj,
    gate_up_proj, down_proj; Llama/Qwen q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj."""

    def __post_init__(self) -> None:
        require("model.policy.lora", {
            "r": (self.r >= 1, ">= 1"),
            "alpha": (self.alpha >= 1, ">= 1"),
            "dropout": (0 <= self.dropout < 1, "in [0, 1)"),
            "target_modules": (bool(self.target_modules), "'all-linear' or a non-empty list of module names"),
        }, self)


@dataclass
class PolicyConfig:
    """The doctor: which model, through which backend, with which adapter."""

    model: str = "grpodx/tiny-phi3"
    """A Hugging Face id or local folder; 'grpodx/tiny-phi3' builds a tiny random model offline."""
    backend: Literal["hf", "unsloth"] = "hf"
    """'unsloth' needs a GPU and `pip install grpodx[gpu]`."""
    lora: LoraConfig = field(default_factory=LoraConfig)
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    """Weights' dtype; bfloat16 on a GPU that has it."""
    load_in_4bit: bool = False
    """QLoRA through Unsloth or bitsandbytes."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass: less memory, more time."""
    max_seq_len: int = 4096
    """Context budget of one episode; an episode that would exceed it is `truncated`."""
    adapter_path: str | None = None
    """Start from a saved PEFT adapter folder instead of a fresh one (the original's --load-checkpoint)."""
    cache_dir: str = "~/.cache/grpodx"
    """Where the tiny model is built."""

    def __post_init__(self) -> None:
        require("model.policy", {
            "model": (bool(self.model.strip()), "a Hugging Face id or a local folder"),
            "max_seq_len": (self.max_seq_len >= 16, ">= 16"),
        }, self)


def _resolve_targets(model: nn.Module, targets: list[str] | str) -> list[str] | str:
    """Fail loudly when a named target matches no linear layer: a silent miss trains nothing."""
    if targets == "all-linear":
        return targets
    names = {name.rsplit(".", 1)[-1] for name, module in model.named_modules() if isinstance(module, nn.Linear)}
    missing = [t for t in targets if t not in names]
    if missing:
        raise ValueError(
            f"lora.target_modules {missing} match no linear layer of this model; "
            f"its linear layers are {sorted(names)} (or use 'all-linear')"
        )
    return list(targets)


def _load_hf(config: PolicyConfig) -> tuple[Any, PreTrainedTokenizerBase]:
    from peft import LoraConfig as PeftLora
    from peft import PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = resolve_model(config.model, config.cache_dir)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(
        path, dtype=getattr(torch, config.dtype), **({"load_in_4bit": True} if config.load_in_4bit else {})
    )
    if config.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    if config.adapter_path:
        return PeftModel.from_pretrained(model, config.adapter_path, is_trainable=True), tokenizer
    lora = PeftLora(
        r=config.lora.r,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules=_resolve_targets(model, config.lora.target_modules),
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lora), tokenizer


def _load_unsloth(config: PolicyConfig) -> tuple[Any, PreTrainedTokenizerBase]:
    try:
        from unsloth import FastLanguageModel
    except ImportError as error:
        raise ImportError("backend 'unsloth' needs a GPU and `pip install 'grpodx[gpu]'`") from error
    model, tokenizer = FastLanguageModel.from_pretrained(
        model_name=config.adapter_path or resolve_model(config.model, config.cache_dir),
        max_seq_length=config.max_seq_len,
        dtype=getattr(torch, config.dtype),
        load_in_4bit=config.load_in_4bit,
    )
    if config.adapter_path:
        return model, tokenizer
    model = FastLanguageModel.get_peft_model(
        model,
        r=config.lora.r,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules=_resolve_targets(model, config.lora.target_modules),
        use_gradient_checkpointing="unsloth" if config.gradient_checkpointing else False,
    )
    return model, tokenizer


class Policy(nn.Module):
    """The doctor model. Holds the PEFT-wrapped model as `model` and its tokenizer."""

    def __init__(self, config: PolicyConfig) -> None:
        super().__init__()
        self.config = config
        load = _load_unsloth if config.backend == "unsloth" else _load_hf
        self.model: Any  # a PEFT or Unsloth wrapper, typed by neither library
        self.tokenizer: PreTrainedTokenizerBase
        self.model, self.tokenizer = load(config)
        self.model.train()  # from_pretrained returns eval mode; Lightning switches modes per stage
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if not any(p.requires_grad for p in self.model.parameters()):
            raise ValueError(f"LoRA wrapped nothing in {config.model}: check lora.target_modules")
        self.stop_ids = self._stop_ids()

    def _stop_ids(self) -> list[int]:
        ids = self.model.generation_config.eos_token_id if self.model.generation_config else None
        ids = [ids] if isinstance(ids, int) else list(ids or [])
        if self.tokenizer.eos_token_id is not None and self.tokenizer.eos_token_id not in ids:
            ids.append(self.tokenizer.eos_token_id)
        return ids

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @contextmanager
    def _inference(self) -> Iterator[None]:
        unsloth = self.config.backend == "unsloth"
        if unsloth:
            from unsloth import FastLanguageModel

            FastLanguageModel.for_inference(self.model)
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                yield
        finally:
            self.model.train(was_training)
            if unsloth:
                FastLanguageModel.for_training(self.model)

    def generate(self, prompts: list[list[int]], max_new_tokens: int, temperature: float = 1.0, top_p: float = 1.0) -> list[list[int]]:
        """One batched, left-padded, KV-cached generate; each output ends at its first stop token."""
        pad = self.tokenizer.pad_token_id
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, prompt in enumerate(prompts):
            ids[row, width - len(prompt) :] = torch.tensor(prompt)
            mask[row, width - len(prompt) :] = 1
        sampling = {"do_sample": True, "temperature": temperature, "top_p": top_p, "top_k": 0} if temperature > 0 else {"do_sample": False}
        with self._inference():
            out = self.model.generate(
                input_ids=ids.to(self.device),
                attention_mask=mask.to(self.device),
                max_new_tokens=max_new_tokens,
                eos_token_id=self.stop_ids,
                pad_token_id=pad,
                **sampling,
            )
        completions = []
        for row in out[:, width:].tolist():
            stop = next((i for i, token in enumerate(row) if token in self.stop_ids), None)
            completions.append(row if stop is None else row[: stop + 1])
        return completions

    def log_probs(self, input_ids: Tensor, attention_mask: Tensor, temperature: float = 1.0) -> Tensor:
        """Log-prob of each next token: input_ids [N, T] -> [N, T-1]; logits scaled as when sampled."""
        logits = self.model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits  # [N, T, V]
        logits = logits[:, :-1].float() / (temperature if temperature > 0 else 1.0)  # [N, T-1, V]
        targets = input_ids[:, 1:]  # [N, T-1]
        # row by row keeps the [T, V] float32 log-softmax of a 100k vocabulary out of peak memory
        rows = [torch.log_softmax(row, dim=-1).gather(-1, t.unsqueeze(-1)).squeeze(-1) for row, t in zip(logits, targets)]
        return torch.stack(rows)  # [N, T-1]

    def reference_log_probs(self, input_ids: Tensor, attention_mask: Tensor, temperature: float = 1.0) -> Tensor:
        """Log-probs of the base model: the same weights with the LoRA adapter disabled, no grad."""
        adapter_off = self.model.disable_adapter() if hasattr(self.model, "disable_adapter") else nullcontext()
        with torch.no_grad(), adapter_off:
            return self.log_probs(input_ids, attention_mask, temperature)

    def save_adapter(self, folder: str | Path, card: AdapterCard | None = None) -> Path:
        """Write a PEFT adapter folder (adapter_config.json, adapter_model.safetensors, README.md
        model card) atomically; the config and card name `config.model`, the id the user gave."""
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-"))
        self.model.save_pretrained(staging)
        self.tokenizer.save_pretrained(staging)
        write_card(staging, card or AdapterCard(base_model=self.config.model))
        replace_dir(staging, folder)
        return folder


def replace_dir(new: Path, target: Path) -> None:
    """Swap `new` in for `target`; a crash at any point leaves one complete folder in place."""
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)
