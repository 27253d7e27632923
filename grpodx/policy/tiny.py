"""A tiny Phi-3-architecture doctor, built offline on first use.

It has a real byte-level BPE tokenizer (trained here on the prompts and the built-in bank) and a
prefix-preserving chat template in Phi-3's format, so every code path that a real model takes is
exercised in seconds on a CPU. From random weights it is warmed up for a few seconds on
synthetic conversations in the doctor's protocol (a question, or `DIAGNOSIS:` with a random
guess), so that its rollouts end, differ in reward and give GRPO something to learn from. It
knows no medicine: it is for tests and smoke runs.
"""

from __future__ import annotations

import os
import random
import shutil
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grpodx.types import ChatMessage

TINY_MODEL = "grpodx/tiny-phi3"
_VERSION = "v3"  # v3: trained on the rollout's tokens (train.sft), not the re-rendered template
_SPECIALS = ["<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)


def _corpus() -> list[str]:
    from grpodx.cases.bank import builtin_templates
    from grpodx.rollout.dialogue import LAST_TURN_NOTE, SYSTEM_PROMPT

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
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|endoftext|>", eos_token="<|end|>", pad_token="<|endoftext|>")
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
    warm_up(model, tokenizer, seed)
    save_model_folder(model, tokenizer, folder)


def save_model_folder(model: object, tokenizer: object, folder: Path) -> None:
    """`save_pretrained` model and tokenizer into `folder` atomically: a staging folder beside it,
    then one rename. When another process finished the same folder first, its copy is kept."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    from grpodx.run.files import staging_dir

    staging = staging_dir(folder)
    try:
        model.save_pretrained(staging)  # type: ignore[attr-defined]
        tokenizer.save_pretrained(staging)  # type: ignore[attr-defined]
        os.replace(staging, folder)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not (folder / "config.json").exists():
            raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


_QUESTIONS = [
    "Do you have a fever?",
    "Where exactly is the pain?",
    "Does it spread anywhere?",
    "How long has this been going on?",
    "Any other medical problems?",
    "What medications do you take?",
    "Do you smoke?",
    "Any family history of illness?",
    "May I examine you?",
    "Can we do some blood tests?",
    "Any nausea or vomiting?",
    "Any cough or shortness of breath?",
]


def synthetic_conversations(count: int, seed: int) -> list[list[ChatMessage]]:
    """Conversations in the doctor's protocol: up to two questions answered by case facts, then a
    diagnosis that is right half of the time."""
    from grpodx.cases.bank import builtin_templates
    from grpodx.rollout.dialogue import system_prompt

    rng = random.Random(seed)
    templates = builtin_templates()
    conversations = []
    for _ in range(count):
        template = rng.choice(templates)
        messages: list[ChatMessage] = [{"role": "system", "content": system_prompt(5)}, {"role": "user", "content": rng.choice(template.chief_complaint)}]
        for _ in range(rng.randint(0, 2)):
            fact = rng.choice(template.facts)
            messages += [
                {"role": "assistant", "content": f"<reason>ask about {fact.kind}</reason>{rng.choice(_QUESTIONS)}"},
                {"role": "user", "content": rng.choice(fact.text)},
            ]
        guesses = [t.diagnosis for t in rng.sample(templates, 3)]
        answer = template.diagnosis if rng.random() < 0.5 else guesses[0]
        messages.append({"role": "assistant", "content": f"<reason>likely {answer}</reason>DIAGNOSIS: {answer}\nDIFFERENTIAL: {guesses[1]}; {guesses[2]}"})
        conversations.append(messages)
    return conversations


def warm_up(model, tokenizer, seed: int, steps: int = 100, batch_size: int = 8) -> None:
    """A few seconds of next-token training on the doctor's turns of synthetic conversations,
    tokenised as the rollout holds them (`train.sft`, the warm-up's loop)."""
    from grpodx.rollout.template import ChatTokens
    from grpodx.train.sft import causal_lm_log_probs, conversation_ids, supervised_steps

    chat = ChatTokens(tokenizer, [tokenizer.eos_token_id])
    rows = [conversation_ids(chat, messages, tokenizer.eos_token_id) for messages in synthetic_conversations(steps * batch_size // 4, seed)]
    model.train()
    params = list(model.parameters())
    supervised_steps(
        causal_lm_log_probs(model),
        params,
        rows,
        tokenizer.pad_token_id,
        steps=steps,
        lr=3e-3,
        batch_size=batch_size,
        seed=seed,
        max_grad_norm=None,
        progress=lambda r: _progress(r, "warming up the tiny model"),
    )
    model.eval()


def _progress(steps: range, what: str):
    """A progress bar on stderr for first-run work with steps (tqdm comes with transformers)."""
    from tqdm.auto import tqdm  # type: ignore[import-untyped]

    return tqdm(steps, desc=what, unit="step", leave=False)


def tiny_model_folder(cache: Path) -> Path:
    """The tiny model's folder under `cache`, built on first use."""
    # the tokenizer and warm-up depend on the bank: a changed bank gets a new folder
    digest = zlib.crc32("\n".join(_corpus()).encode()) & 0xFFFFFFFF
    folder = cache / f"tiny-phi3-{_VERSION}-{digest:08x}"
    if not (folder / "config.json").exists():
        from grpodx.policy.models import announce

        announce("building the tiny test model (tokenizer, then a short warm-up)", "the built-in cases, offline", "20 s to 2 minutes on a CPU", folder)
        try:
            build_tiny_model(folder)
        except OSError:
            if not (folder / "config.json").exists():  # another process may have won the race
                raise
    return folder
