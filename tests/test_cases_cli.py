import json
import re
import subprocess
import sys

import pytest

from grpodx.cases.cli import main
from grpodx.cases.jsonl import read_cases
from grpodx.testing.fake_server import FakeOpenAIServer
from tests.case_helpers import FIXTURES, case_record, write_templates


def card(diagnosis, *, complaint="My chest hurts when I breathe in.", kind="exam"):
    return {
        "diagnosis": diagnosis,
        "aliases": [f"{diagnosis} syndrome"],
        "icd10": "I30.9",
        "body_system": "cardiovascular",
        "age": 30,
        "sex": "male",
        "chief_complaint": complaint,
        "facts": [
            {"kind": "symptom", "text": "It is better when I lean forward.", "ask": ["lean", "position"]},
            {"kind": kind, "text": "Friction rub at the left sternal edge.", "ask": ["listen"]},
        ],
    }


def test_stats_prints_counts_kinds_and_problems(tmp_path, capsys):
    bank = write_templates(tmp_path / "bank.jsonl", ["Asthma", "Croup", "Otitis"])
    assert main(["stats", f"builtin:{bank}", "--variants", "2"]) == 0
    out = capsys.readouterr().out
    assert "read 3, accepted 3, rejected 0, cases 6" in out and "cases: 6, diagnoses: 3" in out
    assert re.search(r"respiratory +6  \(3 diagnoses\)", out)
    assert "facts per case: min" in out and "  negative     1/1.0/1" in out
    assert "validation problems (rejected records): none" in out and "diagnosis named in a complaint or fact: none" in out


def test_stats_fails_on_a_bad_record_unless_skipping(capsys):
    path = FIXTURES / "agentclinic_bad.jsonl"
    assert main(["stats", str(path)]) == 1
    assert f"{path}:2: field 'Correct_Diagnosis'" in capsys.readouterr().err
    assert main(["stats", str(path), "--skip-invalid"]) == 0
    out = capsys.readouterr().out
    assert "validation problems (rejected records): 2" in out and f"{path}:4: field 'Patient_Actor.Symptoms'" in out


def test_show_prints_one_case_and_suggests_ids(tmp_path, capsys):
    bank = write_templates(tmp_path / "bank.jsonl", ["Asthma"])
    assert main(["show", f"builtin:{bank}", "builtin/asthma/7"]) == 0  # the seed is read from the id
    out = capsys.readouterr().out
    assert "id: builtin/asthma/7" in out and "diagnosis: Asthma" in out and "[exam]" in out
    assert main(["show", f"builtin:{bank}", "builtin/asthmaa/0"]) == 1
    assert "did you mean: builtin/asthma/0" in capsys.readouterr().err


def test_list_prints_ids_and_filters_by_diagnosis(tmp_path, capsys):
    bank = write_templates(tmp_path / "bank.jsonl", ["Asthma", "Acute asthma", "Croup"])
    assert main(["list", f"builtin:{bank}"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["builtin/asthma/0", "builtin/acute-asthma/0", "builtin/croup/0"]
    assert lines[1].endswith("  Acute asthma")
    assert main(["list", f"builtin:{bank}", "--diagnosis", "ASTHMA"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["builtin/asthma/0", "builtin/acute-asthma/0"]
    assert main(["list", f"builtin:{bank}", "--diagnosis", "otitis"]) == 1


def test_show_suggests_cases_by_diagnosis_name(tmp_path, capsys):
    bank = write_templates(tmp_path / "bank.jsonl", ["Asthma", "Acute asthma", "Croup"])
    assert main(["show", f"builtin:{bank}", "asthma"]) == 1  # a diagnosis, not an id: ids are far from it
    assert "did you mean: builtin/asthma/0, builtin/acute-asthma/0" in capsys.readouterr().err


def test_generate_validates_retries_and_deduplicates(tmp_path, capsys):
    replies = iter(
        [
            "Here you go: {not json",  # card 1: invalid JSON, retried
            "```json\n" + json.dumps(card("Pericarditis")) + "\n```",  # card 1: accepted
            json.dumps(card("Pericarditis")),  # card 2: duplicate, retried
            json.dumps(card("Costochondritis", complaint="Costochondritis again.")),  # card 2: leak, retried
            json.dumps(card("Costochondritis", kind="rumour")),  # card 2: bad kind, retried
            json.dumps(card("Costochondritis")),  # card 2: accepted
        ]
    )
    out = tmp_path / "cases.jsonl"
    with FakeOpenAIServer(lambda request: next(replies)) as server:
        code = main(["generate", "--model", "openai/fake", "-n", "2", "-o", str(out), "--api-base", server.url, "--api-key", "sk-test"])
    assert code == 0 and not server.errors
    cases, report = read_cases(out)
    assert [c.diagnosis for c in cases] == ["Pericarditis", "Costochondritis"] and report.accepted == 2
    assert cases[0].id == "generated/pericarditis" and cases[0].source == "generated"
    second_card = [m["content"] for m in server.requests[2]["messages"] if m["role"] == "user"]
    assert "Do not use any of these diagnoses: Pericarditis." in second_card[0]
    feedback = [m["content"] for m in server.requests[5]["messages"] if m["role"] == "user"][1:]
    assert "already generated" in feedback[0] and "gives its diagnosis away" in feedback[1]
    assert "field 'facts[1].kind': must be one of" in feedback[2]
    assert "wrote 2 of 2 cards" in capsys.readouterr().out


def test_generate_reports_cards_that_stay_invalid(tmp_path, capsys):
    out = tmp_path / "cases.jsonl"
    with FakeOpenAIServer(lambda request: "I cannot do that.") as server:
        code = main(["generate", "--model", "openai/fake", "-n", "1", "-o", str(out), "--api-base", server.url, "--api-key", "sk-test", "--max-retries", "1"])
    assert code == 1 and len(server.requests) == 2
    captured = capsys.readouterr()
    assert "wrote 0 of 1 cards" in captured.out and "failed card 1: no JSON object in the reply" in captured.err
    assert not out.exists()  # no empty file that would pass for a finished run


def test_generate_without_a_key_makes_no_request(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    out = tmp_path / "cases.jsonl"
    with FakeOpenAIServer(lambda request: json.dumps(card("Pericarditis"))) as server:
        code = main(["generate", "--model", "openai/fake", "-n", "50", "-o", str(out), "--api-base", server.url])
    assert code == 1 and not server.requests and not out.exists()
    err = capsys.readouterr().err
    assert err.strip() == "error: openai/fake needs OPENAI_API_KEY in the environment (or --api-key)"


def test_generate_stops_at_an_authentication_error_or_a_failing_first_request(tmp_path, capsys):
    out = tmp_path / "cases.jsonl"
    for status, said in ((401, "error: authentication failed for openai/fake"), (404, "error: the first request to openai/fake failed: NotFoundError")):
        with FakeOpenAIServer(lambda request, status=status: status) as server:
            code = main(["generate", "--model", "openai/fake", "-n", "50", "-o", str(out), "--api-base", server.url, "--api-key", "sk-bad"])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 1 and len(server.requests) == 1 and not out.exists(), status
        assert len(err) == 1 and err[0].startswith(said), err


def test_generate_retries_a_server_error_as_the_patient_and_judge_do(tmp_path):
    """503s are retried with backoff by the one ModelCaller, three times (before, the OpenAI
    client's own two retries were all a first request got, and the run stopped)."""
    replies = iter([503, 503, 503, json.dumps(card("Pericarditis"))])
    out = tmp_path / "cases.jsonl"
    with FakeOpenAIServer(lambda request: next(replies)) as server:
        code = main(["generate", "--model", "openai/fake", "-n", "1", "-o", str(out), "--api-base", server.url, "--api-key", "sk-test"])
    assert code == 0 and len(server.requests) == 4
    assert [c.diagnosis for c in read_cases(out)[0]] == ["Pericarditis"]


def test_stats_lists_cases_that_name_their_diagnosis(tmp_path, capsys):
    leaky = case_record("leaky", chief_complaint="I think I have pneumonia again.")
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(case_record("fine")) + "\n" + json.dumps(leaky) + "\n")
    assert main(["stats", str(path)]) == 0
    out = capsys.readouterr().out
    assert "diagnosis named in a complaint or fact: 1\n  leaky: chief_complaint: 'pneumonia'" in out
    assert "cases without negative facts: 2" in out


def test_module_entry_point_runs_the_cli():
    result = subprocess.run(
        [sys.executable, "-m", "grpodx.cases", "stats", f"mediq:{FIXTURES / 'mediq_craft_md.jsonl'}"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "read 4, accepted 4, rejected 0, cases 4" in result.stdout and "with answer options: 4" in result.stdout


@pytest.mark.shared_data
def test_stats_reads_the_real_mediq_file(shared_data):
    result = subprocess.run(
        [sys.executable, "-m", "grpodx", "cases", "stats", f"mediq:{shared_data / 'mediq' / 'all_craft_md.jsonl'}"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "read 140, accepted 140, rejected 0, cases 140" in result.stdout and "with answer options: 140" in result.stdout
