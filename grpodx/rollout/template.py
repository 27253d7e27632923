"""Token-in, token-out conversation building over a chat template, apart from the text protocol."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from grpodx.types import ChatMessage

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


class TemplateError(ValueError):
    """The chat template would make us train on tokens the model never produced."""


class ChatTokens:
    """Token-in, token-out conversation building over a chat template.

    The doctor's sampled ids are kept exactly; a patient turn is appended as the template's text
    delta after the doctor's content, tokenized alone. That is only sound for a template that is
    prefix-preserving (rendering a longer conversation never rewrites an earlier turn), which
    the constructor checks.
    """

    def __init__(self, tokenizer: PreTrainedTokenizerBase, stop_ids: list[int]) -> None:
        self.tokenizer = tokenizer
        self.stop_texts = {str(tokenizer.decode([i])) for i in stop_ids}
        self.check_prefix_preserving()

    def render(self, messages: list[ChatMessage], add_generation_prompt: bool) -> str:
        chat = cast("list[dict[str, str]]", messages)  # a TypedDict is a plain dict at run time
        return str(self.tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=add_generation_prompt))

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False)

    def prompt_ids(self, messages: list[ChatMessage]) -> list[int]:
        """Ids of the opening conversation, ending with the assistant's generation prompt."""
        return self.encode(self.render(messages, add_generation_prompt=True))

    def patient_delta(self, messages: list[ChatMessage], doctor_text: str, ended_with_stop: bool, patient_text: str) -> list[int]:
        """Ids to append after the doctor's sampled ids so the sequence continues as the template
        renders `messages + [doctor, patient]`, ending with a new generation prompt.

        `messages` is the conversation before the doctor's turn; `doctor_text` the decoded sample
        without its stop token. The template writes its own end-of-turn token: it is dropped from
        the delta when the sample already ended with it, and kept (as context) when the sample was
        cut at the token limit.
        """
        head = self.render(messages, add_generation_prompt=True) + doctor_text
        full = self.render(
            [*messages, {"role": "assistant", "content": doctor_text}, {"role": "user", "content": patient_text}],
            add_generation_prompt=True,
        )
        if not full.startswith(head):
            raise TemplateError(
                "the chat template rewrote the doctor's turn (it is not prefix-preserving for this "
                f"text: {doctor_text[:80]!r}); refusing to train on tokens the model never produced"
            )
        delta = full[len(head) :]
        if ended_with_stop:
            stop = next((s for s in sorted(self.stop_texts, key=len, reverse=True) if s and delta.startswith(s)), "")
            delta = delta[len(stop) :]
        return self.encode(delta)

    def check_prefix_preserving(self) -> None:
        doctor = ["<reason>think about it</reason>Any fever? ", "<reason>\nlikely flu\n</reason>\nDIAGNOSIS: Influenza\n"]
        messages: list[ChatMessage] = [{"role": "system", "content": "You are a doctor."}, {"role": "user", "content": "I feel unwell."}]
        for text in doctor:
            before = self.render(messages, add_generation_prompt=True)
            messages = [*messages, {"role": "assistant", "content": text}, {"role": "user", "content": "Yes."}]
            after = self.render(messages, add_generation_prompt=True)
            if not after.startswith(before + text):
                name = getattr(self.tokenizer, "name_or_path", "this tokenizer")
                raise TemplateError(
                    f"the chat template of {name} is not prefix-preserving: rendering a later turn "
                    "rewrites an earlier one (for example it trims the assistant's text or drops its "
                    "reasoning), so token-in/token-out training is impossible. Use a model whose "
                    "template keeps earlier turns verbatim, or pass a fixed template."
                )
