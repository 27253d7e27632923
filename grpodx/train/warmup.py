"""Supervised warm-up before GRPO: a few steps of next-token training on protocol conversations.

An untrained small model never writes the protocol by itself (no closed reasoning, no single
question, no `DIAGNOSIS:` line), so every episode scores the same and GRPO has nothing to push
on. As DoctorAgent-RL does before RL, the doctor first imitates conversations in the protocol:
1. For each TRAINING case (never a validation or test case), a scripted doctor asks a few
   questions; the configured patient answers them for real. `questions` picks where they come
   from: `case_facts` builds them from the case's own fact cues (so every question finds a fact);
   `cluster_pool` draws them uniformly from its presentation cluster's question pool (the
   questions for every fact of every training case of the cluster), blind to the case's
   diagnosis and key facts; `cluster_questions` draws them uniformly from the cluster's own
   discriminating questions (its file's `questions`) mixed with the routine ones every
   clinician asks (history, medication, family), the same mix for every diagnosis of the
   cluster. On inquiry cases both teach the protocol and how answers map to diagnoses, but not
   which questions to ask: choosing them (and how many) is left to GRPO.
2. The doctor then names the case's diagnosis, with a differential drawn from other training
   diagnoses only, so no held-out diagnosis appears in the text (a split by diagnosis stays honest).
3. Token ids are built exactly as the rollout builds them (generation prompt, the doctor's ids
   and its stop token, then the patient's template delta); only the doctor's ids carry loss
   (`train.sft`, the supervised loop the tiny model's build uses too).
4. The LoRA weights train for `steps` steps with their own AdamW; the adapter is exported to
   `<run>/adapters/warmup/` so the warmed doctor can be evaluated on its own (base, after
   warm-up, after GRPO: GRPO's gain is its own line).
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, cast, get_args

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_info

from grpodx.cases.schema import Case, Fact
from grpodx.env.base import Patient
from grpodx.rollout.dialogue import opening_message, patient_message, system_prompt
from grpodx.run.callbacks import run_dir
from grpodx.run.knobs import require
from grpodx.train.data import CaseDataModule
from grpodx.train.sft import conversation_ids, supervised_steps
from grpodx.types import ChatMessage, Message

if TYPE_CHECKING:
    from grpodx.train.module import DoctorGRPO

_ROUTINE = {
    "history": "Do you have any other medical conditions?",
    "medication": "What medication do you take?",
    "family": "Does anything run in your family?",
}


QuestionSource = Literal["case_facts", "cluster_pool", "cluster_questions"]
QUESTION_SOURCES: tuple[str, ...] = get_args(QuestionSource)


@dataclass(frozen=True)
class ProtocolTurns:
    """How a scripted doctor's conversation is shaped."""

    max_turns: int
    min_questions: int = 1
    max_questions: int = 3


def fact_question(fact: Fact) -> str | None:
    """A question that asks for `fact` in words the patient recognises, or None.

    >>> fact_question(Fact("symptom", "I've had high fevers.", ("fever", "chills")))
    'Have you had any fever?'
    >>> fact_question(Fact("exam", "Crackles over the right chest.", ("chest", "listen")))
    'May I examine you and check your chest?'

    A test the fact names by no cue is not asked for: "Can we run some tests?" fetches nothing.

    >>> fact_question(Fact("test", "Troponin I 2.4 ng/mL.", ("ecg", "trace"))) is None
    True
    """
    if fact.kind in _ROUTINE:
        return _ROUTINE[fact.kind]
    # a cue the fact's own text contains as whole words reads as a word, not a stem ("radiat")
    words = set(re.findall(r"[a-z]+", fact.text.lower()))
    words |= {w[:-2] if w.endswith("es") else w[:-1] for w in words if w.endswith("s")}  # "fevers" answers "fever"
    cue = next((c for c in fact.ask if len(c) > 2 and all(w in words for w in c.split()) and not c.startswith("exam")), None)
    if fact.kind == "exam":
        return f"May I examine you and check your {cue}?" if cue else "May I examine you?"
    if cue is None:  # a test asked for by no name gets "no result available": no information
        return None
    if fact.kind == "test":
        return f"Can we run a test to check your {cue}?"
    if fact.kind == "social":
        return f"Can you tell me about your {cue}?"
    return f"Have you had any {cue}?"


def cluster_question_pools(cases: Sequence[Case]) -> dict[str, list[str]]:
    """Cluster -> the questions that ask for any fact of any of its cases, sorted and unique.

    Built from the training cases only, so a held-out case adds no question. Every diagnosis of
    a cluster shares one pool: a question drawn from it says nothing about the diagnosis.
    """
    _need_clusters(cases, "cluster_pool")
    pools: dict[str, set[str]] = {}
    for case in cases:
        pools.setdefault(case.cluster, set()).update(q for f in case.facts if (q := fact_question(f)))
    return {cluster: sorted(questions) for cluster, questions in pools.items()}


def cluster_discriminating_pools(sources: Sequence[str], cases: Sequence[Case]) -> dict[str, list[str]]:
    """Cluster -> its discriminating questions (the cluster file's `questions`, read from the
    run's `inquiry` sources) and the routine questions (`_ROUTINE`: history, medication,
    family), sorted and unique.

    The pool is the cluster's, never the case's: every diagnosis of a cluster draws from it
    alike, so a drawn question says nothing about the diagnosis, and three draws in seven are
    routine questions that rarely tell the cluster's diagnoses apart.
    """
    from grpodx.cases.clusters import builtin_clusters, load_clusters
    from grpodx.cases.sources import parse_spec

    _need_clusters(cases, "cluster_questions")
    known: dict[str, tuple[str, ...]] = {}
    for spec in sources:
        name, path = parse_spec(spec)
        if name == "inquiry":
            known.update((c.name, c.questions) for c in (builtin_clusters() if path is None else load_clusters(path)))
    missing = sorted({c.cluster for c in cases} - set(known))
    if missing:
        raise ValueError(f"warmup.questions=cluster_questions: cluster(s) {missing[:3]} are in no `inquiry` source of data.sources {list(sources)}")
    return {name: sorted({*known[name], *_ROUTINE.values()}) for name in sorted({c.cluster for c in cases})}


def _need_clusters(cases: Sequence[Case], mode: str) -> None:
    missing = sorted({c.id for c in cases if not c.cluster})
    if missing:
        raise ValueError(
            f"warmup.questions={mode} needs cases with a presentation cluster (Case.cluster, e.g. the `inquiry` source); "
            f"{len(missing)} training case(s) have none, e.g. {missing[:3]}"
        )


def scripted_questions(case: Case, rng: random.Random, count: int, pool: list[str] | None) -> list[str]:
    """`count` distinct questions: uniformly from `pool` when given (blind to the case), else
    from the case's own facts in a random order."""
    if pool is not None:
        return rng.sample(pool, min(count, len(pool)))
    own = dict.fromkeys(q for f in rng.sample(case.facts, len(case.facts)) if (q := fact_question(f)))
    return list(own)[:count]


async def protocol_conversation(
    case: Case, patient: Patient, seed: int, pool: list[tuple[str, str]], turns: ProtocolTurns, questions_pool: list[str] | None = None
) -> list[ChatMessage]:
    """System prompt, the patient's opening, a few answered questions, then the diagnosis.
    `pool` holds the (diagnosis, body system) pairs a differential may name; `questions_pool`,
    when given, the questions the scripted doctor draws from (else the case's own facts)."""
    rng = random.Random(seed)
    opening = await patient.opening(case, seed)
    messages: list[ChatMessage] = [
        {"role": "system", "content": system_prompt(turns.max_turns)},
        {"role": "user", "content": patient_message(opening_message(opening, case, False), turns.max_turns == 1)},
    ]
    dialogue: list[Message] = [{"role": "patient", "content": opening}]
    count = min(rng.randint(turns.min_questions, turns.max_questions), turns.max_turns - 1)
    for turn, question in enumerate(scripted_questions(case, rng, count, questions_pool), start=1):
        messages.append({"role": "assistant", "content": f"<reason>Ask next: {question.lower().rstrip('?')}.</reason>{question}"})
        dialogue.append({"role": "doctor", "content": question})
        reply = await patient.reply(case, dialogue, seed)
        dialogue.append({"role": "patient", "content": reply})
        messages.append({"role": "user", "content": patient_message(reply, turn + 1 == turns.max_turns)})
    from grpodx.clinical.coding import bank_index, concept_key  # the ICD-10-CM code set takes seconds to import

    own = concept_key(case.diagnosis, bank_index())  # no other name of the case's disease in its differential
    others = [(d, s) for d, s in pool if concept_key(d, bank_index()) != own]
    rng.shuffle(others)
    others.sort(key=lambda pair: pair[1] != case.body_system)  # alternatives of the same system first
    differential = "; ".join(d for d, _ in others[:3])
    answer = f"<reason>The findings fit {case.diagnosis}.</reason>DIAGNOSIS: {case.diagnosis}"
    messages.append({"role": "assistant", "content": answer + (f"\nDIFFERENTIAL: {differential}" if differential else "")})
    return messages


class WarmUp(L.Callback):
    """Supervised warm-up on protocol conversations of the training split, before the first
    GRPO step of a fresh `fit` (skipped when resuming from a checkpoint, and when steps is 0)."""

    def __init__(
        self,
        steps: int = 0,
        lr: float = 5e-4,
        batch_size: int = 4,
        conversations_per_case: int = 2,
        min_questions: int = 1,
        max_questions: int = 3,
        questions: QuestionSource = "case_facts",
        seed: int = 0,
    ) -> None:
        """
        Args:
            steps: optimizer steps of warm-up; 0 turns it off.
            lr: learning rate of the warm-up's own AdamW (GRPO's optimizer is untouched).
            batch_size: conversations per warm-up step.
            conversations_per_case: scripted conversations built from each training case.
            min_questions: fewest questions a scripted doctor asks before its diagnosis.
            max_questions: most questions (capped at rollout.max_turns - 1).
            questions: where the scripted doctor's questions come from: `case_facts` (the case's
                own fact cues: every question finds a fact, so it also shows which questions to
                ask) or `cluster_pool` (uniformly from the case's presentation cluster's question
                pool, blind to its diagnosis and key facts: the protocol and the answer mapping
                only, for inquiry cases where choosing the questions is GRPO's job) or
                `cluster_questions` (uniformly from the cluster's discriminating questions and
                the routine ones, blind to the case alike: `cluster_discriminating_pools`).
            seed: seeds the questions, the differentials and the batch order.
        """
        knobs = dict(
            steps=steps,
            lr=lr,
            batch_size=batch_size,
            conversations_per_case=conversations_per_case,
            min_questions=min_questions,
            max_questions=max_questions,
            questions=questions,
        )
        require(
            "warmup",
            {
                "steps": (steps >= 0, ">= 0"),
                "lr": (lr > 0, "> 0"),
                "batch_size": (batch_size >= 1, ">= 1"),
                "conversations_per_case": (conversations_per_case >= 1, ">= 1"),
                "min_questions": (min_questions >= 0, ">= 0"),
                "max_questions": (max_questions >= min_questions, ">= warmup.min_questions"),
                "questions": (questions in QUESTION_SOURCES, " or ".join(QUESTION_SOURCES)),
            },
            knobs,
        )
        self.questions: QuestionSource = questions
        self.steps, self.lr, self.batch_size, self.per_case = steps, lr, batch_size, conversations_per_case
        self.min_questions, self.max_questions, self.seed = min_questions, max_questions, seed
        self.losses: list[float] = []
        self.done = False
        """True once this run's warm-up ran (before the "before" validation, or at fit start)."""

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """The CLI's validation before `fit` is the run's "before": it must see the warmed-up
        doctor (GRPO's own gain is after against it), so the warm-up runs first, here. Lightning
        validates under inference mode; the warm-up trains, so it leaves it for its steps."""
        if getattr(pl_module, "before_fit", False):
            pl_module.train()  # as at fit start (dropout on); validation put it in eval mode
            try:
                with torch.inference_mode(False):
                    self._warm(trainer, pl_module)
            finally:
                pl_module.eval()

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._warm(trainer, pl_module)  # no-op when the validation before fit ran it already

    def _warm(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.steps == 0 or trainer.ckpt_path or self.done:
            return
        self.done = True
        module, data = cast("DoctorGRPO", pl_module), getattr(trainer, "datamodule", None)
        if not isinstance(data, CaseDataModule):
            raise TypeError(f"WarmUp needs the run's CaseDataModule (the `data:` section) to build its conversations, got {type(data).__name__}")
        started = time.perf_counter()
        self.run(module.policy, module.rollouts, data.train_cases, [*data.val_cases, *data.test_cases], data.sources)
        seconds = time.perf_counter() - started
        per_step = seconds / max(len(self.losses), 1)
        rank_zero_info(f"warm-up: {len(self.losses)} steps in {seconds:.0f} s ({per_step:.2f} s a step, building the conversations included)")
        if trainer.logger is not None:
            for step, loss in enumerate(self.losses):
                trainer.logger.log_metrics({"warmup/loss": loss}, step=step)
            trainer.logger.log_metrics({"time/warmup_s": seconds, "time/warmup_step_s": per_step}, step=0)
        if trainer.is_global_zero:
            module.policy.save_adapter(run_dir(trainer) / "adapters" / "warmup")

    def run(self, policy, engine, train_cases: list[Case], held_out: list[Case], sources: Sequence[str] = ()) -> list[float]:
        """Build the training cases' conversations and train on them; the losses."""
        cases = list(train_cases)
        overlap = {c.id for c in held_out} & {c.id for c in cases}
        if not cases or overlap:
            raise ValueError(f"warmup needs training cases apart from the held-out ones (shared: {sorted(overlap)[:3]})")
        turns = ProtocolTurns(engine.config.max_turns, self.min_questions, self.max_questions)
        conversations = engine.loop.run_until_complete(self._conversations(cases, engine.patient, turns, sources))
        rows = [conversation_ids(engine.chat, messages, policy.stop_ids[0]) for messages in conversations]
        params = [p for p in policy.parameters() if p.requires_grad]
        with torch.enable_grad():
            self.losses = supervised_steps(
                lambda ids, attention, where: policy.log_probs(ids, attention, where=where),
                params,
                rows,
                policy.tokenizer.pad_token_id,
                steps=self.steps,
                lr=self.lr,
                batch_size=self.batch_size,
                seed=self.seed,
                device=policy.device,
            )
        return self.losses

    async def _conversations(self, cases: list[Case], patient: Patient, turns: ProtocolTurns, sources: Sequence[str] = ()) -> list[list[ChatMessage]]:
        pool = sorted({(c.diagnosis, c.body_system) for c in cases})  # training diagnoses only
        asked = {
            "case_facts": lambda: {},
            "cluster_pool": lambda: cluster_question_pools(cases),
            "cluster_questions": lambda: cluster_discriminating_pools(sources, cases),
        }[self.questions]()
        jobs = [
            protocol_conversation(c, patient, self.seed * 7919 + i * 31 + k, pool, turns, asked[c.cluster] if asked else None)
            for i, c in enumerate(cases)
            for k in range(self.per_case)
        ]
        return list(await asyncio.gather(*jobs))
