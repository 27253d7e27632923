"""The patient through LiteLLM: one adapter for every backend, with a leak guard on every reply.

The guard redacts the diagnosis, its aliases and their short forms ('(PML)', 'PML'), its ICD-10
code ('K35.80', or any code of its category) and disguised spellings ('A-P-P-E-N-D-I-C-I-T-I-S',
'app3ndicitis') twice:
in the sheet before it is sent (an imported fact may name it), and in the reply. `stats.leaks`
(the run's env/leaks) counts every redaction, both places; `extra` splits them into
'sheet_redactions' and 'reply_redactions'.
"""

from __future__ import annotations

from dataclasses import replace

from grpodx.cases.checks import leak_terms
from grpodx.cases.schema import Case
from grpodx.clinical.text import redact
from grpodx.env.base import REDACTED, EnvStats, Patient
from grpodx.env.calls import CallerStats, ModelCaller
from grpodx.env.config import PatientConfig
from grpodx.env.prompts import patient_messages
from grpodx.env.scripted import PatientSheet
from grpodx.types import Message


def redact_diagnosis(text: str, names: tuple[str, ...]) -> tuple[str, int]:
    """Replace every mention of the names and their short forms ('... (PML)' and 'PML' alike);
    returns (text, mentions found). The one matcher is `grpodx.clinical.text.redact`."""
    return redact(text, names, REDACTED)


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
        sheet, in_sheet = self._sheet(case)
        text = await self._caller.complete(patient_messages(sheet, dialogue), seed=seed)
        text, in_reply = redact_diagnosis(text, leak_terms(case))
        self.stats.leaks += in_sheet + in_reply
        for name, count in (("sheet_redactions", in_sheet), ("reply_redactions", in_reply)):
            if count:
                self.stats.extra[name] = self.stats.extra.get(name, 0.0) + count
        return text

    def _sheet(self, case: Case) -> tuple[PatientSheet, int]:
        """The case's patient-facing facts, with any mention of the diagnosis redacted: an
        imported fact such as "known X" must not hand the model the answer."""
        sheet = PatientSheet.from_case(case)
        terms = leak_terms(case)
        complaint, found = redact_diagnosis(sheet.chief_complaint, terms)
        facts = []
        for fact in sheet.facts:
            text, count = redact_diagnosis(fact.text, terms)
            facts.append(replace(fact, text=text))
            found += count
        return PatientSheet(sheet.demographics, complaint, tuple(facts)), found
