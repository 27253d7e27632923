"""Episodes and the turn loop: one batched doctor generate per turn, patients concurrently.

1. Every episode starts from the system prompt and the patient's opening (one opening per
   group: the G attempts share the case and the patient's seed).
2. Each turn, every still-active episode generates in one batched call; the sampled ids are
   appended as they are and marked as doctor tokens. Each episode keeps its KV cache between
   turns, so a turn encodes only what the conversation added since the last one.
3. A visible `DIAGNOSIS:` line ends the episode and it is judged; otherwise the patient answers
   (all active episodes concurrently) and its reply is appended as the chat template's delta.
   The last allowed turn carries the note that the doctor must diagnose now; with
   `force_final_diagnosis` that turn also starts from a prefilled `DIAGNOSIS:`, appended as
   context (mask 0, no loss: the doctor did not sample it) before the doctor generates.
4. A patient or judge failure makes the episode `env_error`; a context that cannot fit another
   turn makes it `truncated`.
5. A run may take a smaller turn budget (`run(..., turns=b)`): the doctor is told b turns and
   its b-th starts from the forced `DIAGNOSIS:`. Evaluations use it for accuracy by turn budget.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor

from grpodx.cases.schema import Case
from grpodx.env.base import EnvError, Judge, Patient
from grpodx.policy.policy import Policy
from grpodx.rollout.decode import SequenceCache
from grpodx.rollout.dialogue import DIAGNOSIS_PREFIX, format_grade, opening_message, patient_message, read_doctor_turn, resolve_option, system_prompt
from grpodx.rollout.padding import pack_rows
from grpodx.rollout.template import ChatTokens
from grpodx.run.knobs import require
from grpodx.types import Episode


@dataclass
class RolloutConfig:
    """The conversations: how many attempts per case, how long, and how they are sampled."""

    group_size: int = 8
    """Attempts per case; advantages compare them."""
    max_turns: int = 5
    """Doctor turns per episode, the diagnosis included."""
    max_new_tokens: int = 256
    """Token budget of one doctor turn."""
    temperature: float = 1.0
    """Sampling temperature of the doctor in training (log-probs are taken at the same temperature)."""
    top_p: float = 1.0
    """Nucleus sampling in training: sample from the smallest token set with this much probability."""
    eval_temperature: float = 0.0
    """Sampling temperature for validate/test; 0 is greedy."""
    eval_samples: int = 1
    """Episodes per case in validate/test; above 1 (with eval_temperature > 0) also gives pass@n."""
    show_options: bool = False
    """Multiple-choice mode: show a case's answer options to the doctor."""
    force_final_diagnosis: bool = False
    """Start the last allowed doctor turn from a prefilled `DIAGNOSIS:` (context, not sampled,
    so it carries no loss): every episode that reaches it is judged, so a model that never
    writes the protocol by itself still gets graded diagnoses (the cold start)."""
    eval_repetition_penalty: float = 1.0
    """Repetition penalty for validate/test only (1 is none). Never used while training: the
    loss's log-probs assume the plain softmax the tokens were sampled from."""
    eval_no_repeat_ngram_size: int = 0
    """Forbid repeating any n-gram of this size in a doctor turn, validate/test only (0: off)."""

    def __post_init__(self) -> None:
        require(
            "model.rollout",
            {
                "group_size": (self.group_size >= 2, ">= 2 (advantages compare the attempts of a group)"),
                "max_turns": (self.max_turns >= 1, ">= 1"),
                "max_new_tokens": (self.max_new_tokens >= 1, ">= 1"),
                "temperature": (self.temperature >= 0, ">= 0"),
                "top_p": (0 < self.top_p <= 1, "in (0, 1]"),
                "eval_temperature": (self.eval_temperature >= 0, ">= 0"),
                "eval_repetition_penalty": (self.eval_repetition_penalty > 0, "> 0"),
                "eval_no_repeat_ngram_size": (self.eval_no_repeat_ngram_size >= 0, ">= 0"),
                # greedy decoding would repeat one episode eval_samples times
                "eval_samples": (
                    self.eval_samples == 1 or (self.eval_samples > 1 and self.eval_temperature > 0),
                    ">= 1, and 1 with greedy decoding (eval_temperature 0; set one > 0 for more)",
                ),
            },
            self,
        )


@dataclass
class RolloutTimes:
    """Wall seconds since the engine started: the doctor generating, and the rollout waiting on
    patient and judge with no generation running (a wait hidden behind generation does not
    count)."""

    generate_s: float = 0.0
    env_s: float = 0.0


class RolloutEngine:
    """Runs groups of episodes against the patient and judge on its own event loop."""

    def __init__(self, policy: Policy, patient: Patient, judge: Judge, config: RolloutConfig) -> None:
        self.policy, self.patient, self.judge, self.config = policy, patient, judge, config
        self.chat = ChatTokens(policy.tokenizer, policy.stop_ids)
        self.loop = asyncio.new_event_loop()
        self.times = RolloutTimes()

    def close(self) -> None:
        """Stop what LiteLLM left running on our loop (its logging worker), then close it."""
        self.loop.run_until_complete(_cancel_other_tasks())
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    def run(
        self, cases: list[Case], seeds: list[int], group_size: int, temperature: float, evaluation: bool = False, turns: int | None = None
    ) -> list[Episode]:
        """`group_size` episodes of each case, in order; episode.group is the case's index.
        `evaluation` applies the eval-only repetition settings; `turns` (1..max_turns) runs with
        that turn budget instead, its last turn a forced diagnosis."""
        configured = self.config
        if turns is not None:
            require("RolloutEngine.run", {"turns": (1 <= turns <= configured.max_turns, f"in 1..rollout.max_turns={configured.max_turns}")}, {"turns": turns})
            self.config = replace(configured, max_turns=turns, force_final_diagnosis=True)
        try:
            return self.loop.run_until_complete(self._run(cases, seeds, group_size, temperature, evaluation))
        finally:
            self.config = configured

    async def _run(self, cases: list[Case], seeds: list[int], group_size: int, temperature: float, evaluation: bool) -> list[Episode]:
        began, generating = time.perf_counter(), self.times.generate_s
        episodes = await self._open(cases, seeds, group_size)
        caches = {id(e): SequenceCache() for e in episodes}
        penalties = self._penalties() if evaluation else {}
        for turn in range(1, self.config.max_turns + 1):
            prefill = self._prefill(turn)
            active = [e for e in episodes if e.status == "active" and self._fits(e, len(prefill))]
            if not active:
                break
            for episode in active:
                episode.append(prefill, doctor=False)  # context the doctor continues, not a sample
            started = time.perf_counter()
            mine = [caches[id(e)] for e in active]
            samples = self.policy.generate([e.token_ids for e in active], self.config.max_new_tokens, temperature, self.config.top_p, caches=mine, **penalties)
            self.times.generate_s += time.perf_counter() - started
            for episode, ids, cache in zip(active, samples, mine):
                episode.prefill_tokens = cache.prefill_tokens
                self._doctor_turn(episode, ids, turn, prefill)
            await asyncio.gather(*(self._answer(e, ids, turn) for e, ids in zip(active, samples)))
            for episode in active:
                if episode.status != "active":
                    del caches[id(episode)]  # its KV cache is done with: free it now
        self.times.env_s += time.perf_counter() - began - (self.times.generate_s - generating)
        return episodes

    def _prefill(self, turn: int) -> list[int]:
        """Context the doctor's turn starts from: `DIAGNOSIS:` on a forced final turn, else nothing."""
        return self.chat.encode(DIAGNOSIS_PREFIX) if turn == self.config.max_turns and self.config.force_final_diagnosis else []

    async def _answer(self, episode: Episode, sampled: list[int], turn: int) -> None:
        """After a doctor turn: the patient replies to an episode still going; a diagnosis is judged."""
        if episode.status == "active":
            await self._patient_turn(episode, sampled, last_next=turn + 1 == self.config.max_turns)
        elif episode.status == "diagnosed":
            await self._judge(episode)

    async def _open(self, cases: list[Case], seeds: list[int], group_size: int) -> list[Episode]:
        openings = await asyncio.gather(*(self.patient.opening(c, s) for c, s in zip(cases, seeds)), return_exceptions=True)
        episodes = []
        for group, (case, seed, opening) in enumerate(zip(cases, seeds, openings)):
            for _ in range(group_size):
                episode = Episode(case=case, group=group, seed=seed, messages=[])
                if isinstance(opening, BaseException):
                    self._fail(episode, opening)
                else:
                    text = patient_message(opening_message(opening, case, self.config.show_options), self.config.max_turns == 1)
                    episode.messages = [{"role": "system", "content": system_prompt(self.config.max_turns)}, {"role": "user", "content": text}]
                    episode.dialogue = [{"role": "patient", "content": opening}]
                    episode.append(self.chat.prompt_ids(episode.messages), doctor=False)
                episodes.append(episode)
        return episodes

    def _penalties(self) -> dict[str, Any]:
        """The eval-only repetition settings that differ from plain sampling (none by default)."""
        c = self.config
        penalties: dict[str, Any] = {"repetition_penalty": c.eval_repetition_penalty, "no_repeat_ngram_size": c.eval_no_repeat_ngram_size}
        return {k: v for k, v in penalties.items() if v != {"repetition_penalty": 1.0, "no_repeat_ngram_size": 0}[k]}

    def _fits(self, episode: Episode, extra: int = 0) -> bool:
        if len(episode.token_ids) + extra + self.config.max_new_tokens <= self.policy.config.max_seq_len:
            return True
        episode.status = "truncated"
        return False

    def _doctor_turn(self, episode: Episode, ids: list[int], number: int, prefill: list[int]) -> None:
        """Append turn `number`'s sampled ids and read them: a diagnosis ends the episode."""
        episode.append(ids, doctor=True)
        ended = bool(ids) and ids[-1] in self.policy.stop_ids
        text = str(self.policy.tokenizer.decode(prefill + (ids[:-1] if ended else ids)))
        turn = read_doctor_turn(text)
        episode.turns_ok.append(turn.format_ok and ended)
        episode.turn_grades.append(format_grade(text, ended))
        episode.messages.append({"role": "assistant", "content": text})
        episode.dialogue.append({"role": "doctor", "content": turn.visible})
        if turn.diagnosis is not None:
            episode.diagnosis = resolve_option(turn.diagnosis, episode.case.options) if self.config.show_options else turn.diagnosis
            episode.differential = turn.differential
            episode.status = "diagnosed"
        elif number == self.config.max_turns:
            episode.status = "out_of_turns"

    async def _patient_turn(self, episode: Episode, sampled: list[int], last_next: bool) -> None:
        try:
            reply = await self.patient.reply(episode.case, episode.dialogue, episode.seed)
        except EnvError as error:
            self._fail(episode, error)
            return
        ended = bool(sampled) and sampled[-1] in self.policy.stop_ids
        shown = patient_message(reply, last_next)
        before, doctor_text = episode.messages[:-1], episode.messages[-1]["content"]
        delta = self.chat.patient_delta(before, doctor_text, ended, shown)
        if len(episode.token_ids) + len(delta) + self.config.max_new_tokens > self.policy.config.max_seq_len:
            episode.status = "truncated"  # no room for the reply and another doctor turn
            return
        episode.append(delta, doctor=False)
        episode.messages.append({"role": "user", "content": shown})
        episode.dialogue.append({"role": "patient", "content": reply})

    async def _judge(self, episode: Episode) -> None:
        try:
            episode.verdict = await self.judge.score(episode.case, episode.diagnosis or "", list(episode.differential), episode.dialogue)
        except EnvError as error:
            self._fail(episode, error)

    @staticmethod
    def _fail(episode: Episode, error: BaseException) -> None:
        if not isinstance(error, EnvError):
            raise error
        episode.status, episode.error = "env_error", str(error)


async def _cancel_other_tasks() -> None:
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@dataclass
class PackedBatch:
    """Right-padded token sequences of the trained episodes, ready for the loss."""

    input_ids: Tensor  # [N, T]
    attention_mask: Tensor  # [N, T]
    loss_mask: Tensor  # [N, T-1]: 1 where the next token was sampled by the doctor
    advantages: Tensor  # [N]


def pack(episodes: list[Episode], advantages: list[float], pad_id: int) -> PackedBatch:
    """The episodes' (ids, doctor mask) rows right-padded (`pack_rows`), with their advantages."""
    ids, attention, loss_mask = pack_rows([(e.token_ids, e.doctor_mask) for e in episodes], pad_id)
    return PackedBatch(ids, attention, loss_mask, torch.tensor(advantages, dtype=torch.float32))
