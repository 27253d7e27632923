"""`python -m grpodx chat --ckpt CKPT | --adapter DIR | --model MODEL`: be the patient of a trained doctor.

You describe what brings you in and answer its questions; it asks until it names a diagnosis
(or runs out of turns), and the chat ends with the diagnosis and the differential. Its private
`<reason>` blocks stay hidden unless --show-reasoning. The conversation is built token in,
token out, exactly as in training.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from typing import TextIO


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m grpodx chat", description=__doc__.splitlines()[0].split(": ", 1)[1])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--ckpt", help="a fit checkpoint (checkpoints/last.ckpt)")
    source.add_argument("--adapter", help="a PEFT adapter folder (adapters/final)")
    source.add_argument("--model", help="a base model, untrained (policy.model: folder, hub id, SmolLM2)")
    parser.add_argument("--cache-dir", help="policy.cache_dir (default: the checkpoint's, or $XDG_CACHE_HOME/grpodx, else ~/.cache/grpodx)")
    parser.add_argument("--max-turns", type=int, default=5, help="doctor turns, the diagnosis included (default 5)")
    parser.add_argument("--max-new-tokens", type=int, default=256, help="tokens per doctor turn (default 256)")
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    parser.add_argument("--show-reasoning", action="store_true", help="print the doctor's private <reason> text")
    args = parser.parse_args(argv)
    if args.max_turns < 1 or args.max_new_tokens < 1:
        parser.error("--max-turns and --max-new-tokens must be >= 1")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        doctor = _load_quietly(args)
        converse(doctor, sys.stdin, sys.stdout, args.max_turns, args.max_new_tokens, args.temperature, args.show_reasoning)
    except KeyboardInterrupt:  # Ctrl-C leaves, as in any terminal program: no traceback
        print("\n(chat ended)", flush=True)
        return 130
    return 0


def _load_quietly(args: argparse.Namespace):
    """The doctor, loaded without library chatter (weight-loading bars, deprecation notices) before
    the first prompt; grpodx's own first-run line, if a model must be built, still shows."""
    import warnings

    from transformers.utils import logging as hf_logging

    from grpodx.policy.saved import open_doctor

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return open_doctor(args.ckpt, args.adapter, args.model, cache_dir=args.cache_dir)


def converse(doctor, read: TextIO, write: TextIO, max_turns: int, max_new_tokens: int, temperature: float, show_reasoning: bool) -> None:
    from grpodx.rollout.dialogue import patient_message, read_doctor_turn, system_prompt
    from grpodx.rollout.template import ChatTokens
    from grpodx.types import ChatMessage

    chat = ChatTokens(doctor.tokenizer, doctor.stop_ids)
    say = partial(print, file=write, flush=True)
    say("You are the patient. What brings you in today? (an empty line or Ctrl-D ends the chat)")
    opening = _answer(read, write)
    if not opening:
        return
    messages: list[ChatMessage] = [
        {"role": "system", "content": system_prompt(max_turns)},
        {"role": "user", "content": patient_message(opening, max_turns == 1)},
    ]
    ids = chat.prompt_ids(messages)
    for turn in range(1, max_turns + 1):
        if len(ids) + max_new_tokens > doctor.config.max_seq_len:
            break
        if write.isatty() and not show_reasoning:
            sample = stream_reply(doctor, ids, max_new_tokens, temperature, write)
        else:  # piped: one line per turn, the reasoning (when shown) before it
            sample = doctor.generate([ids], max_new_tokens, temperature)[0]
        ended = bool(sample) and sample[-1] in doctor.stop_ids
        text = doctor.tokenizer.decode(sample[:-1] if ended else sample)
        reply = read_doctor_turn(text)
        if not (write.isatty() and not show_reasoning):
            if show_reasoning and reply.reasoning:
                say(f"  (reasoning: {reply.reasoning})")
            say(f"Doctor: {reply.visible}")
        if reply.diagnosis is not None:
            say(f"\nDiagnosis: {reply.diagnosis}\nDifferential: {'; '.join(reply.differential) or '(none given)'}")
            return
        answer = _answer(read, write) if turn < max_turns else ""
        if not answer:
            break
        shown = patient_message(answer, turn + 1 == max_turns)
        ids = ids + sample + chat.patient_delta(messages, text, ended, shown)
        messages += [{"role": "assistant", "content": text}, {"role": "user", "content": shown}]
    say("\nDiagnosis: (none: the doctor did not name one)\nDifferential: (none given)")


def stream_reply(doctor, ids: list[int], max_new_tokens: int, temperature: float, write: TextIO) -> list[int]:
    """Sample one doctor turn a token at a time (the KV cache carries over, so each step encodes one
    token), printing its visible text as it grows; the private <reason> part stays hidden."""
    from grpodx.rollout.decode import SequenceCache
    from grpodx.rollout.dialogue import REASON_OPEN, split_reasoning

    cache, shown = [SequenceCache()], ""
    sample: list[int] = []
    print("Doctor: ", end="", file=write, flush=True)
    for _ in range(max_new_tokens):
        sample += doctor.generate([ids + sample], 1, temperature, caches=cache)[0]
        if sample and sample[-1] in doctor.stop_ids:
            break
        text = doctor.tokenizer.decode(sample)
        # hold back what could be the start of a <reason> tag, so no half tag flashes on screen
        safe = split_reasoning(text[: len(text) - _partial_tag(text, REASON_OPEN)])[1]
        if safe.startswith(shown) and len(safe) > len(shown):
            print(safe[len(shown) :], end="", file=write, flush=True)
            shown = safe
    ended = bool(sample) and sample[-1] in doctor.stop_ids
    final = split_reasoning(doctor.tokenizer.decode(sample[:-1] if ended else sample))[1]
    rest = final[len(shown) :] if final.startswith(shown) else f"\n{final}"  # the cleaned text differs: say it whole
    print(rest, file=write, flush=True)
    return sample


def _partial_tag(text: str, tag: str) -> int:
    """Length of the longest end of `text` that begins `tag` (0 if none)."""
    return next((n for n in range(min(len(tag) - 1, len(text)), 0, -1) if tag.startswith(text[-n:])), 0)


def _answer(read: TextIO, write: TextIO) -> str:
    if read.isatty() and write.isatty():
        # a person: input() edits the line and keeps a history (up arrow) through readline
        import readline  # noqa: F401 - importing it is what turns line editing on

        try:
            return input("You: ").strip()
        except EOFError:  # Ctrl-D
            print(file=write)
            return ""
    if read.isatty():  # a prompt only for a person: piped answers keep the transcript one line per turn
        print("You: ", end="", file=write, flush=True)
    line = read.readline()
    if not line and read.isatty():
        print(file=write)
    return line.strip()
