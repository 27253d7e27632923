"""The judge through LiteLLM: grades the extracted diagnosis, never the doctor's free text.

The model (an LLM or the embedded rubric) sees the truth, its aliases and ICD-10 code, the
doctor's final diagnosis with its ICD-10-CM coding, and the differential. Its reply is parsed
(`prompts.parse_score`); when it is still unparseable after `num_retries` more asks, the rubric
judge grades instead and `stats.fallbacks` counts it.

The deterministic rubric brackets every model, so no backend can be gamed where the rubric
cannot:
- before: the gate (`hedges`): a hedge, a negation or a past diagnosis scores 0 and is never
  correct, without a model call;
- after: when the code set places the answer outside the truth's ICD-10 category, the model's
  score is capped at the rubric's (a different disease by the code set stays one, however the
  answer is worded); within the category a model may still see a synonym the rubric missed.
`Verdict.rank` comes from the rubric for every backend, so accuracy@k never depends on a
model's mood; a model's 1.0 within the truth's category also counts as correct.
"""

from __future__ import annotations

from dataclasses import replace

from grpodx.cases.schema import Case
from grpodx.env.base import EnvStats, Judge
from grpodx.env.calls import CallerStats, ModelCaller
from grpodx.env.config import RUBRIC_JUDGE, JudgeConfig
from grpodx.env.prompts import UnparseableScore, judge_messages, parse_score, process_messages
from grpodx.env.rubric import EXACT, LEVEL_CREDIT, DiagnosisIndex, gate, grade, rank, truth_of
from grpodx.types import Message, Verdict


class LiteLLMJudge(CallerStats, Judge):
    def __init__(self, config: JudgeConfig, index: DiagnosisIndex) -> None:
        self.config = config
        self._index = index
        self._caller = ModelCaller(config, EnvStats())
        fallback = JudgeConfig(model=RUBRIC_JUDGE, max_concurrency=config.max_concurrency, num_retries=0)
        self._rubric = ModelCaller(fallback, EnvStats())  # its own stats: no double counting

    def __repr__(self) -> str:
        return f"LiteLLMJudge({self.config!r})"

    async def score(self, case: Case, diagnosis: str, differential: list[str], dialogue: list[Message] | None = None) -> Verdict:
        truth = truth_of(case, self._index)
        position = rank(truth, diagnosis, differential, self._index)
        refusal = gate(diagnosis, self._index) if diagnosis.strip() else "is empty"
        if refusal:  # nothing to grade: no model call, no cost, no variance
            return Verdict(credit=0.0, correct=False, rank=position, rationale=grade(truth, diagnosis, None, refusal)[1])
        coding = self._index.resolve(diagnosis)
        floor, _ = grade(truth, diagnosis, coding, None)
        credit, rationale = await self._grade(judge_messages(truth, diagnosis, differential, coding))
        if coding is not None and coding.code and floor < LEVEL_CREDIT["category"]:
            credit = min(credit, floor)  # outside the truth's category by the code set
        if credit >= EXACT and position != 1:
            position = 1  # the judge recognised a synonym the rubric missed
        verdict = Verdict(credit=credit, correct=position == 1, rank=position, rationale=rationale)
        if self.config.process_weight > 0 and dialogue:
            verdict = replace(verdict, process=await self._process(dialogue), process_weight=self.config.process_weight)
        return verdict

    async def _grade(self, messages: list[dict[str, str]]) -> tuple[float, str]:
        for _ in range(self.config.num_retries + 1):
            reply = await self._caller.complete(messages)
            try:
                return parse_score(reply)
            except UnparseableScore:
                continue
        self.stats.fallbacks += 1
        return parse_score(await self._rubric.complete(messages))

    async def _process(self, dialogue: list[Message]) -> float | None:
        """Interview quality in 0..1; None (counted in extra['process_unparsed']) if unreadable."""
        messages = process_messages(dialogue)
        for _ in range(self.config.num_retries + 1):
            try:
                return parse_score(await self._caller.complete(messages))[0]
            except UnparseableScore:
                continue
        self.stats.extra["process_unparsed"] = self.stats.extra.get("process_unparsed", 0.0) + 1
        return None
