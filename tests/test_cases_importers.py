import json

import pytest

from grpodx.cases.errors import CaseError
from grpodx.cases.importers.agentclinic import import_agentclinic
from grpodx.cases.importers.mediq import import_mediq
from grpodx.cases.jsonl import read_cases, write_cases
from grpodx.cases.sources import load_source
from grpodx.env.scripted import PatientSheet, answer
from grpodx.train.data import CaseDataModule
from tests.case_helpers import FIXTURES, data_path, on_fixture_and_shared

# The project's four-record file in MediQ's iCraft-MD format; the real 140 records run in the
# `shared_data` group. Both must satisfy every MediQ test below.
MEDIQ_FILES = on_fixture_and_shared(FIXTURES / "mediq_craft_md.jsonl", "mediq/all_craft_md.jsonl")


@pytest.fixture(params=MEDIQ_FILES)
def MEDIQ(request):
    return data_path(request)


def lines(path):
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_agentclinic_fixture_flattens_every_section():
    path = FIXTURES / "agentclinic_osce.jsonl"
    cases, report = import_agentclinic(path)
    assert report.read == len(lines(path)) == report.accepted == len(cases) and report.complete
    mg = cases[0]
    assert (mg.diagnosis, mg.age, mg.sex, mg.chief_complaint) == ("Myasthenia gravis", 35, "female", "Double vision")
    texts = {f.text: f for f in mg.facts}
    assert texts["No fever."].kind == "negative" and "fever" in texts["No fever."].ask  # "Denies fever.", in the patient's voice
    assert texts["Drooping eyelids."].kind == "symptom"
    assert texts["I work as an accountant."].kind == "social"
    assert texts["Vital signs, blood pressure: 118/76 mmHg"].kind == "exam"
    thymus = texts["Imaging, ct chest, findings: Anterior mediastinal mass consistent with thymoma"]
    assert thymus.kind == "test" and {"imag", "chest"} <= set(thymus.ask)
    assert "Blood tests, thyroid function, tsh: 2.1 mIU/L" in texts  # two levels deep
    assert not any("Assess and diagnose" in f.text for f in mg.facts)  # the doctor's brief is no fact


def test_agentclinic_without_test_results_and_with_list_findings():
    cases, _ = import_agentclinic(FIXTURES / "agentclinic_osce.jsonl")
    strep, aaa = cases[1], cases[2]
    assert not strep.facts_of("test") and strep.facts_of("exam")
    assert "Neck: Tender anterior cervical lymph nodes; No stiffness" in {f.text for f in strep.facts}
    assert {f.text for f in aaa.facts_of("family", "medication")} == {"Brother had an aneurysm repaired.", "Ramipril 5 mg daily."}
    assert "Laboratory, lactate: 4.1 mmol/L" in {f.text for f in aaa.facts_of("test")}
    assert (aaa.age, aaa.sex) == (68, "male")  # "Age: 68; Sex: Male"
    travel = next(f for f in aaa.facts if f.text == "Travel history: No recent travel.")  # a field outside the usual set
    assert travel.kind == "social"
    sheet = PatientSheet.from_case(aaa)  # the cues make it askable: travel questions reach it, in any wording
    for question in ("Any recent travel?", "Have you travelled recently?", "Been abroad lately?"):
        assert answer(sheet, question, 0) == travel.text, question


def test_agentclinic_bad_records_fail_or_are_reported():
    path = FIXTURES / "agentclinic_bad.jsonl"
    with pytest.raises(CaseError, match=r"agentclinic_bad.jsonl:2: field 'Correct_Diagnosis'"):
        import_agentclinic(path)
    cases, report = load_source(str(path), skip_invalid=True)  # format guessed from the record
    assert report.read == len(lines(path)) == len(cases) + len(report.rejected)
    assert [where.rsplit(":", 1)[1] for where, _ in report.rejected] == ["2", "4"]
    assert "Patient_Actor.Symptoms" in report.rejected[1][1]


def test_mediq_file_loses_nothing(MEDIQ):
    cases, report = import_mediq(MEDIQ)
    records = [json.loads(line) for line in lines(MEDIQ)]
    assert report.read == len(records) == len(cases) + len(report.rejected) and report.complete
    assert not report.rejected
    for case, record in zip(cases, records):
        options = record["options"]  # letters to texts, or (some MedQA exports) a list in letter order
        options = options if isinstance(options, dict) else {chr(65 + i): o for i, o in enumerate(options)}
        assert case.options == tuple(o.strip() for o in options.values())
        assert case.diagnosis == options[record["answer_idx"]].strip()
        assert len(case.facts) == len(record["facts"]) and case.body_system == "dermatology"
    assert all(not f.text[0].isdigit() for c in cases for f in c.facts)  # "1. " numbering removed


def test_mediq_answer_outside_options_becomes_alias(MEDIQ):
    cases, _ = import_mediq(MEDIQ)
    records = [json.loads(line) for line in lines(MEDIQ)]
    for case, record in zip(cases, records):
        answer = record["answer"].strip()
        assert case.aliases == (() if answer.lower() == case.diagnosis.lower() else (answer,))
    assert any(c.diagnosis == "IgA vasculitis" and c.aliases for c in cases)  # an older name, kept as an alias
    first = cases[0]
    assert (first.age, first.sex) == (22, "male") and first.chief_complaint.startswith("A 22-year-old man")
    assert {f.kind for c in cases for f in c.facts} >= {"symptom", "negative", "exam", "test", "history"}


def test_mediq_bad_record_names_field(MEDIQ, tmp_path):
    record = json.loads(lines(MEDIQ)[0])
    record["answer_idx"] = "E"
    path = tmp_path / "mediq.jsonl"
    path.write_text(lines(MEDIQ)[1] + "\n" + json.dumps(record) + "\n")
    with pytest.raises(CaseError, match=r"mediq.jsonl:2: field 'answer_idx': must be one of A, B, C, D"):
        import_mediq(path)
    cases, report = load_source(f"mediq:{path}", skip_invalid=True)
    assert len(cases) == 1 and report.read == 2 and len(report.rejected) == 1


def test_options_survive_jsonl_and_the_data_module(MEDIQ, tmp_path):
    cases, _ = import_mediq(MEDIQ)
    write_cases(tmp_path / "mediq_cases.jsonl", cases)
    again, _ = read_cases(tmp_path / "mediq_cases.jsonl")
    assert again == cases
    data = CaseDataModule(sources=[f"mediq:{MEDIQ}"], val_fraction=0.1, test_fraction=0.1, batch_size=8)
    data.setup("fit")
    batches = [*data.train_dataloader(), *data.val_dataloader(), *data.test_dataloader()]
    seen = [c for batch in batches for c in batch]
    assert len(seen) == len(cases) and all(c.options and c.diagnosis in c.options for c in seen)
