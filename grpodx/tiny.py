"""A tiny, randomly initialised Phi-3-architecture doctor, built offline on first use.

It has a real byte-level BPE tokenizer (trained here on the prompts and the built-in bank) and a
prefix-preserving chat template in Phi-3's format, so every code path that a real model takes is
exercised in seconds on a CPU. It knows nothing about medicine: it is for tests and smoke runs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

TINY_MODEL = "grpodx/tiny-phi3"
_VERSION = "v1"
_SPECIALS = ["<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)


def _corpus() -> list[str]:
    from grpodx.cases.bank import builtin_templates
    from grpodx.dialogue import LAST_TURN_NOTE, SYSTEM_PROMPT

    lines = [SYSTEM_PROMPT, LAST_TURN_NOTE, "<reason>", "</reason>", "DIAGNOSIS:", "DIFFERENTIAL:"]
    for template in builtin_templates():
        lines += [template.diagnosis, *template.aliases, *template.chief_complaint]
        for fact in template.facts:
            lines += list(fact.text)
    return lines


def build_tiny_model(folder: Path, vocab_size: int = 2048, seed: int = 0) -> None:
    """Write tokenizer and random weights to `folder` (atomically: a half-built folder never exists)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import Phi3Config, Phi3ForCausalLM, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=_SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(_corpus(), trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token="<|endoftext|>", eos_token="<|end|>", pad_token="<|endoftext|>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(seed)
    config = Phi3Config(
        vocab_size=len(tokenizer),
        hidden_size=128,
        intermediate_size=384,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=4096,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
    )
    model = Phi3ForCausalLM(config)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-"))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def resolve_model_path(name: str, cache_dir: str) -> str:
    """`grpodx/tiny-phi3` -> its local folder (built on first use); anything else unchanged."""
    if name != TINY_MODEL:
        return name
    folder = Path(cache_dir).expanduser() / f"tiny-phi3-{_VERSION}"
    if not (folder / "config.json").exists():
        try:
            build_tiny_model(folder)
        except OSError:
            if not (folder / "config.json").exists():  # another process may have won the race
                raise
    return str(folder)
