import json

import pytest

from grpodx.cases.errors import CaseError
from grpodx.cases.jsonl import read_cases, write_cases
from tests.case_helpers import case_record


def write_lines(path, records):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8")
    return path


def test_round_trip_keeps_every_field(tmp_path):
    path = write_lines(tmp_path / "in.jsonl", [case_record("a", options=["Pneumonia", "Asthma"]), case_record("b", age=None, sex=None)])
    cases, report = read_cases(path)
    write_cases(tmp_path / "out.jsonl", cases)
    again, _ = read_cases(tmp_path / "out.jsonl")
    assert again == cases
    assert cases[0].options == ("Pneumonia", "Asthma")
    assert cases[0].facts[0].ask == ("phlegm", "sputum")
    assert cases[1].demographics == ""
    assert (report.read, report.accepted, report.rejected) == (2, 2, [])


def test_bad_fact_kind_names_file_line_and_field(tmp_path):
    bad = case_record("b")
    bad["facts"].append({"kind": "rumour", "text": "x"})
    lines = [case_record(f"c{i}") for i in range(15)] + [""] + [bad]  # the bad record is on line 17
    path = write_lines(tmp_path / "cases.jsonl", lines)
    with pytest.raises(CaseError) as error:
        read_cases(path)
    assert str(error.value).startswith(f"{path}:17: field 'facts[2].kind': must be one of symptom, negative,")


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (case_record(age=-3), "age"),
        (case_record(sex="f"), "sex"),
        (case_record(icd10="pneumonia"), "icd10"),
        (case_record(body_system="lungs"), "body_system"),
        (case_record(facts=[]), "facts"),
        (case_record(chief_complaint=""), "chief_complaint"),
        (case_record(options=["Asthma", "COPD"]), "options"),
        (case_record(colour="red"), "colour"),
        ({k: v for k, v in case_record().items() if k != "diagnosis"}, "diagnosis"),
        ("{not json", "<json>"),
        ("[1, 2]", "<record>"),
    ],
)
def test_each_bad_field_is_named(tmp_path, record, field):
    path = write_lines(tmp_path / "cases.jsonl", [record])
    with pytest.raises(CaseError) as error:
        read_cases(path)
    assert (error.value.where, error.value.field) == (f"{path}:1", field)


def test_skip_invalid_counts_and_reports_every_bad_record(tmp_path):
    records = [case_record("a"), case_record("b", age="old"), "{", case_record("a"), case_record("c")]
    path = write_lines(tmp_path / "cases.jsonl", records)
    cases, report = read_cases(path, skip_invalid=True)
    assert [c.id for c in cases] == ["a", "c"]
    assert report.read == 5 and report.accepted == 2 and report.complete
    assert [where for where, _ in report.rejected] == [f"{path}:2", f"{path}:3", f"{path}:4"]
    assert "duplicate id 'a'" in report.rejected[2][1]
    assert "rejected 3" in report.summary()


def test_icd10_is_normalised(tmp_path):
    cases, _ = read_cases(write_lines(tmp_path / "c.jsonl", [case_record(icd10="j17, j18")]))
    assert cases[0].icd10 == "J17, J18"


def test_key_facts_and_cluster_survive_a_round_trip(tmp_path):
    record = case_record("k", cluster="acute chest pain")
    record["facts"][0]["key"] = True
    cases, _ = read_cases(write_lines(tmp_path / "in.jsonl", [record]))
    write_cases(tmp_path / "out.jsonl", cases)
    again, _ = read_cases(tmp_path / "out.jsonl")
    assert again == cases
    assert (again[0].cluster, [f.key for f in again[0].facts]) == ("acute chest pain", [True, False])


def test_a_key_flag_that_is_not_a_boolean_is_named(tmp_path):
    record = case_record("k")
    record["facts"][1]["key"] = "yes"
    with pytest.raises(CaseError) as error:
        read_cases(write_lines(tmp_path / "in.jsonl", [record]))
    assert error.value.field == "facts[1].key"
