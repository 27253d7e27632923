"""The patient through LiteLLM: one adapter for every backend, with a leak guard on every reply."""

from __future__ import annotations

import re
from dataclasses import replace

from grpodx.cases.schema import Case
from grpodx.env.base import EnvStats, Message, Patient
from grpodx.env.calls import CallerStats, ModelCaller
from grpodx.env.config import PatientConfig
from grpodx.env.prompts import patient_messages
from grpodx.env.scripted import PatientSheet

REDACTED = "[redacted]"


def redact_diagnosis(text: str, names: tuple[str, ...]) -> tuple[str, int]:
    """Replace every whole-word, any-case mention of the names; returns (text, mentions found).

    Longer names go first so that 'acute myocardial infarction' is redacted as one, not as
    'acute [redacted]'.
    """
    found = 0
    for name in sorted({n.strip() for n in names if n.strip()}, key=len, reverse=True):
        text, count = re.subn(r"\b" + re.escape(name) + r"\b", REDACTED, text, flags=re.IGNORECASE)
        found += count
    return text, found


class LiteLLMPatient(CallerStats, Patient):
    """Sends the case's patient sheet (never the diagnosis) and the dialogue to `config.model`."""

    def __init__(self, config: PatientConfig) -> None:
        self.config = config
        self._caller = ModelCaller(config, EnvStats())

    def __repr__(self) -> str:
        return f"LiteLLMPatient({self.config!r})"

    async def opening(self, case: Case, seed: int) -> str:
        return await self._ask(case, [], seed)

    async def reply(self, case: Case, dialogue: list[Message], seed: int) -> str:
        return await self._ask(case, dialogue, seed)

    async def _ask(self, case: Case, dialogue: list[Message], seed: int) -> str:
        text = await self._caller.complete(patient_messages(self._sheet(case), dialogue), seed=seed)
        text, mentions = redact_diagnosis(text, case.names)
        if mentions:
            self.stats.leaks += 1  # one per leaking reply: the count the leak metric reports
        return text

    def _sheet(self, case: Case) -> PatientSheet:
        """The case's patient-facing facts, with any mention of the diagnosis redacted: an
        imported fact such as "known X" must not hand the model the answer."""
        sheet = PatientSheet.from_case(case)
        complaint, found = redact_diagnosis(sheet.chief_complaint, case.names)
        facts = []
        for fact in sheet.facts:
            text, count = redact_diagnosis(fact.text, case.names)
            facts.append(replace(fact, text=text))
            found += count
        if found:
            self.stats.extra["sheet_redactions"] = self.stats.extra.get("sheet_redactions", 0.0) + found
        return PatientSheet(sheet.demographics, complaint, tuple(facts))
