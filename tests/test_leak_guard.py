"""The leak guard sees the diagnosis's ICD-10 code and disguised spellings, not just its names.

A fact holding 'K35.80', 'A-P-P-E-N-D-I-C-I-T-I-S' or 'app3ndicitis' used to reach the doctor
uncounted. Now the patient redacts and counts them (sheet and reply), and `cases stats` flags them.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from grpodx.cases.checks import name_leaks
from grpodx.cases.cli import main
from grpodx.cases.schema import Fact
from grpodx.clinical.text import redact
from grpodx.env import PatientConfig, build_patient
from grpodx.env.patient import REDACTED
from grpodx.testing.fake_server import FakeOpenAIServer
from tests.case_helpers import case_record, pneumonia_case

APPENDICITIS = ("Acute appendicitis", "appendicitis", "K35.80")
DISGUISED = [
    "Histology: K35.80.",
    "Coded as K35.8 on the ward.",
    "The surgeon wrote A-P-P-E-N-D-I-C-I-T-I-S on the board.",
    "The note says a p p e n d i c i t i s.",
    "Query app3ndicitis on the scan.",
    "Probable 4pp3nd1c1t1s.",
]
INNOCENT = [
    "The pain moved to my right lower tummy.",
    "My appendix was never taken out.",  # the organ is no diagnosis
    "I took 35 mg at 8.30 this morning.",
    "K3 5.80 is my locker number.",
]


@pytest.mark.parametrize("text", DISGUISED)
def test_codes_and_disguised_names_are_redacted_and_counted(text: str) -> None:
    redacted, found = redact(text, APPENDICITIS, REDACTED)
    assert found == 1 and REDACTED in redacted, redacted
    assert "K35" not in redacted and "3ndic" not in redacted and "P-P" not in redacted


@pytest.mark.parametrize("text", INNOCENT)
def test_ordinary_words_are_left_alone(text: str) -> None:
    assert redact(text, APPENDICITIS, REDACTED) == (text, 0)


def test_the_patient_redacts_a_coded_fact_and_a_disguised_reply_and_counts_both() -> None:
    case = pneumonia_case("cap-code", Fact("test", "Discharge summary: J18.9 treated.", ("summary",)))
    with FakeOpenAIServer(lambda request: "They wrote p-n-e-u-m-o-n-i-a, doctor.") as server:
        patient = build_patient(PatientConfig(model="openai/fake-patient", api_base=server.url, api_key="sk-test", retry_backoff=0.001))
        reply = asyncio.run(patient.reply(case, [{"role": "doctor", "content": "What did they say?"}], seed=0))
    sent = json.dumps(server.requests)
    assert "J18.9" not in sent and f"Discharge summary: {REDACTED} treated." in sent
    assert reply == f"They wrote {REDACTED}, doctor."
    assert patient.stats.leaks == 2 and (patient.stats.extra["sheet_redactions"], patient.stats.extra["reply_redactions"]) == (1, 1)


def test_cases_stats_flags_codes_and_disguised_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    facts = [{"kind": "test", "text": "Old notes: J18.9.", "ask": ["notes"]}, {"kind": "exam", "text": "Chart reads pn3um0nia.", "ask": ["chart"]}]
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(case_record("coded", facts=facts)) + "\n")
    assert main(["stats", str(path)]) == 0
    out = capsys.readouterr().out
    assert "diagnosis named in a complaint or fact: 2" in out
    assert "coded: facts[0]: 'J18.9'" in out and "coded: facts[1]: 'pn3um0nia'" in out


def test_the_bank_has_no_hidden_leaks() -> None:
    from grpodx.cases.sources import load_source

    cases, _ = load_source("builtin", variants_per_disease=1)
    assert [leak for case in cases for leak in name_leaks(case)] == []
