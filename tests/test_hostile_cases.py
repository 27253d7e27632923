"""Hostile case files: each gets a one-line error naming the file and line, never a traceback."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from grpodx.cases.cli import main
from grpodx.cases.fields import MAX_TEXT_CHARS
from grpodx.cases.tally import MAX_RECORD_BYTES
from tests.case_helpers import FIXTURES, case_record, write_templates


def _stats(spec: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["stats", spec]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def _write(path: Path, *lines: bytes) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_a_non_utf8_byte_names_file_line_and_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = json.dumps(case_record("a")).encode()
    path = _write(tmp_path / "cases.jsonl", good, b'{"id": "b", "diagnosis": "Pneum\xe9nia"}')
    assert f"{path}:2: field '<encoding>': is not UTF-8 (byte 0xe9 at column 32)" in _stats(str(path), capsys)


def test_json_nested_100000_deep_is_refused_not_a_recursion_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "cases.jsonl", b"[" * 100_000 + b"]" * 100_000)
    assert f"{path}:1: field '<json>': is nested too deeply" in _stats(str(path), capsys)


def test_duplicate_ids_are_refused_in_jsonl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "cases.jsonl", json.dumps(case_record("same")).encode(), json.dumps(case_record("same", chief_complaint="Other words.")).encode())
    assert f"{path}:2: field 'id': duplicate id 'same' (first at {path}:1)" in _stats(str(path), capsys)


def test_repeated_records_are_refused_in_mediq_and_agentclinic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = (FIXTURES / "mediq_craft_md.jsonl").read_bytes().splitlines()[0]
    path = _write(tmp_path / "mediq.jsonl", first, first)
    assert f"{path}:2: field 'id': duplicate id " in _stats(f"mediq:{path}", capsys)
    first = (FIXTURES / "agentclinic_osce.jsonl").read_bytes().splitlines()[0]  # AgentClinic ids are line numbers
    path = _write(tmp_path / "agentclinic.jsonl", first, first)
    assert f"{path}:2: field '<record>': repeats the case at {path}:1 under another id" in _stats(f"agentclinic:{path}", capsys)


def test_duplicate_diagnoses_in_a_template_bank_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bank = write_templates(tmp_path / "bank.jsonl", ["Asthma", "Croup", "asthma"])
    assert f"{bank}:3: field 'diagnosis': duplicate diagnosis 'asthma' (first at {bank}:1)" in _stats(f"builtin:{bank}", capsys)


def test_oversized_fields_and_records_are_refused_quickly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    long_fact = case_record("long", chief_complaint="x" * (MAX_TEXT_CHARS + 1))
    path = _write(tmp_path / "long.jsonl", json.dumps(long_fact).encode())
    assert f"{path}:1: field 'chief_complaint': is {MAX_TEXT_CHARS + 1:,} characters" in _stats(str(path), capsys)
    huge = case_record("huge")
    huge["facts"][0]["text"] = "y" * (50 * MAX_RECORD_BYTES)  # the 50 MB fact
    path = _write(tmp_path / "huge.jsonl", json.dumps(huge).encode())
    started = time.perf_counter()
    assert f"{path}:1: field '<record>': is 50,000," in _stats(str(path), capsys)
    assert time.perf_counter() - started < 10  # it took 3 minutes and 10.6 GB
