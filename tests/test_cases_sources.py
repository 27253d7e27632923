import json

import pytest

from grpodx.cases.bank import builtin_templates
from grpodx.cases.errors import CaseError
from grpodx.cases.sources import guess_format, load_source, load_sources, parse_spec
from tests.case_helpers import case_record, template_record, write_templates


def test_builtin_gives_variants_of_every_template():
    cases, report = load_source("builtin", seed=5, variants_per_disease=2)
    templates = builtin_templates()
    assert len(cases) == 2 * len(templates) == report.cases
    assert report.read == report.accepted == len(templates) and report.complete
    assert {c.id.rsplit("/", 1)[1] for c in cases} == {"5", "6"}
    assert cases == load_source("builtin", seed=5, variants_per_disease=2)[0]


def test_template_file_by_prefix_and_by_guess(tmp_path):
    path = write_templates(tmp_path / "mine.jsonl", ["Asthma", "Croup"])
    by_prefix, report = load_source(f"builtin:{path}", variants_per_disease=3)
    assert len(by_prefix) == 6 and report.accepted == 2 and report.cases == 6
    assert load_source(str(path), variants_per_disease=3)[0] == by_prefix


def test_bad_template_is_an_error_or_reported(tmp_path):
    bad = template_record("Croup")
    bad["facts"][3]["kind"] = "gossip"
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps(template_record("Asthma")) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(CaseError, match=r"mine.jsonl:2: field 'facts\[3\].kind'"):
        load_source(f"builtin:{path}")
    cases, report = load_source(f"builtin:{path}", skip_invalid=True)
    assert [c.diagnosis for c in cases] == ["Asthma"] and report.read == 2 and len(report.rejected) == 1


def test_format_guessed_from_first_record(tmp_path):
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps(case_record()) + "\n")
    osce = tmp_path / "osce.jsonl"
    osce.write_text('{"OSCE_Examination": {}}\n')
    mediq = tmp_path / "m.jsonl"
    mediq.write_text('{"context": [], "answer": "x"}\n')
    assert [guess_format(p) for p in (cases, osce, mediq)] == ["jsonl", "agentclinic", "mediq"]
    assert parse_spec(f"jsonl:{cases}") == ("jsonl", cases)


def test_unknown_format_and_missing_path_are_clear(tmp_path):
    odd = tmp_path / "odd.jsonl"
    odd.write_text('{"hello": 1}\n')
    with pytest.raises(ValueError, match="FORMAT:PATH"):
        load_source(str(odd))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_source(f"mediq:{tmp_path / 'nope.jsonl'}")
    with pytest.raises(ValueError, match=r"unknown format 'foo'; known formats: builtin, inquiry, jsonl, agentclinic, ddxplus, ddxplus-initial, mediq"):
        load_source("foo:bar")


def test_ids_must_be_unique_across_sources(tmp_path):
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(case_record("x")) + "\n")
    with pytest.raises(ValueError, match="case id 'x' is in both"):
        load_sources([str(path), f"jsonl:{path}"])
