import json
import shutil

import pytest

from grpodx.cases.errors import CaseError
from grpodx.cases.importers.ddxplus import first_person, import_ddxplus
from grpodx.cases.sources import load_source
from tests.case_helpers import FIXTURES, data_path, on_fixture_and_shared

# The project's own small knowledge base in DDXPlus's format (six conditions); the real one
# (49 conditions) runs in the `shared_data` group. Both must satisfy every test below.
FOLDERS = on_fixture_and_shared(FIXTURES / "ddxplus", "ddxplus")


@pytest.fixture(params=FOLDERS)
def DDXPLUS(request):
    return data_path(request)


def conditions(folder):
    return json.loads((folder / "release_conditions.json").read_text(encoding="utf-8"))


def test_every_condition_becomes_cases_and_nothing_is_lost(DDXPLUS):
    CONDITIONS = conditions(DDXPLUS)
    cases, report = import_ddxplus(DDXPLUS, seed=0, variants_per_disease=3)
    assert report.read == len(CONDITIONS) == report.accepted + len(report.rejected) and not report.rejected
    assert len(cases) == 3 * len(CONDITIONS) == report.cases
    assert {c.diagnosis for c in cases} == {c["cond-name-eng"] for c in CONDITIONS.values()}
    assert len({c.id for c in cases}) == len(cases)


@pytest.mark.shared_data
def test_the_real_knowledge_base_has_49_conditions(shared_data):
    cases, report = import_ddxplus(shared_data / "ddxplus")
    assert report.read == report.accepted == 49 and len(cases) == 49


def test_canonical_case_holds_every_stateable_evidence_and_variants_a_subset(DDXPLUS):
    cases, _ = import_ddxplus(DDXPLUS, seed=0, variants_per_disease=4)
    croup = [c for c in cases if c.diagnosis == "Croup"]
    canonical, sampled = croup[0], croup[1:]
    assert canonical.id == "ddxplus/croup/0" and canonical.source == "ddxplus"
    assert all(len(v.facts) <= len(canonical.facts) for v in sampled)
    assert all(v.age <= 6 for v in croup)
    assert "I have a fever (either felt or measured with a thermometer)." in {f.text for f in canonical.facts}
    assert all({"fever", "thermomet"} <= set(f.ask) for f in canonical.facts if f.text.startswith("I have a fever"))


def test_icd10_mixed_case_is_normalised_and_systems_follow_chapters(DDXPLUS):
    cases, _ = import_ddxplus(DDXPLUS)
    by_name = {c.diagnosis: c for c in cases}
    assert by_name["Pneumonia"].icd10 == "J17, J18" and by_name["Pneumonia"].body_system == "respiratory"
    assert by_name["Tuberculosis"].icd10 == "A15" and by_name["Tuberculosis"].body_system == "infectious"
    assert by_name["Cluster headache"].icd10 == "G44.009" and by_name["Cluster headache"].body_system == "neurological"
    assert "pertussis" in by_name["Whooping cough"].aliases


def test_antecedents_are_history_social_family_or_medication(DDXPLUS):
    cases, _ = import_ddxplus(DDXPLUS)
    kinds = {f.text: f.kind for c in cases for f in c.facts}
    assert kinds["I smoke cigarettes."] == "social"
    assert kinds["I have heart failure."] == "history"
    assert kinds["I take corticosteroids."] == "medication"
    assert kinds["I have family members who have had lung cancer."] == "family"
    men = [c for c in cases if c.sex == "male"]
    assert men and not any("pregnant" in f.text for c in men for f in c.facts)


def test_first_person_rules_and_fallback(DDXPLUS):
    assert first_person("Do you have a cough?") == "I have a cough."
    assert first_person("Is your skin much paler than usual?") == "My skin is much paler than usual."
    assert first_person("Did you lose consciousness?") is None
    cases, _ = import_ddxplus(DDXPLUS)
    assert "Did you lose consciousness? Yes." in {f.text for c in cases for f in c.facts}


def test_bad_condition_is_an_error_or_reported(DDXPLUS, tmp_path):
    shutil.copy(DDXPLUS / "release_evidences.json", tmp_path)
    CONDITIONS = conditions(DDXPLUS)
    conditions_ = dict(CONDITIONS)
    conditions_["Croup"] = {**CONDITIONS["Croup"], "symptoms": {"E_9999": {}}}
    conditions_["Ebola"] = {**CONDITIONS["Ebola"], "icd10-id": "ebola"}
    (tmp_path / "release_conditions.json").write_text(json.dumps(conditions_))
    with pytest.raises(CaseError, match=r"release_conditions.json:Croup: field 'symptoms.E_9999': is not in release_evidences"):
        import_ddxplus(tmp_path)
    cases, report = load_source(str(tmp_path), skip_invalid=True, variants_per_disease=2)  # a folder is DDXPlus
    assert report.read == len(conditions_) and report.accepted == len(conditions_) - 2 and len(cases) == 2 * report.accepted
    assert [where.rsplit(":", 1)[1] for where, _ in report.rejected] == ["Croup", "Ebola"]
    assert "icd10-id" in report.rejected[1][1]


# --- initial-evidence mode: DDXPlus the way its agents play it ---------------------------------
def test_initial_evidence_opens_with_one_shared_symptom_and_leaves_it_out_of_the_facts(DDXPLUS):
    CONDITIONS, evidences = conditions(DDXPLUS), json.loads((DDXPLUS / "release_evidences.json").read_text(encoding="utf-8"))
    plain, _ = import_ddxplus(DDXPLUS, seed=0, variants_per_disease=4)
    cases, report = load_source(f"ddxplus-initial:{DDXPLUS}", seed=0, variants_per_disease=4)
    assert report.read == report.accepted == len(CONDITIONS) and len(cases) == len(plain)
    statements = {name: {first_person(evidences[k]["question_en"]) for k in c["symptoms"]} for name, c in CONDITIONS.items()}
    holders: dict[str, set[str]] = {}
    for name, found in statements.items():
        for statement in found:
            holders.setdefault(statement, set()).add(name)
    for case, before in zip(cases, plain):
        assert case.id == before.id.replace("ddxplus/", "ddxplus-initial/", 1) and case.source == "ddxplus-initial"
        assert case.chief_complaint in statements[case.diagnosis] and case.cluster == case.chief_complaint
        assert case.chief_complaint not in {f.text for f in case.facts}  # the rest comes only by asking
        assert {f.text for f in case.facts} == {f.text for f in before.facts} - {case.chief_complaint}
    # an opening any other condition can have too, so it does not name the condition
    shared = [c for c in cases if len(holders[c.chief_complaint]) > 1]
    assert len(shared) >= 0.8 * len(cases)


@pytest.mark.shared_data
def test_the_49_pathologies_fall_into_clusters_by_shared_initial_symptom(shared_data):
    cases, _ = load_source(f"ddxplus-initial:{shared_data / 'ddxplus'}", seed=0, variants_per_disease=10)
    by_cluster: dict[str, set[str]] = {}
    for case in cases:
        by_cluster.setdefault(case.cluster, set()).add(case.diagnosis)
    assert len({c.diagnosis for c in cases}) == 49
    big = [name for name, members in by_cluster.items() if len(members) >= 4]
    assert len(big) >= 8 and sum(len(by_cluster[n]) for n in big) >= 60
    assert sum(len(members) > 1 for members in by_cluster.values()) >= 0.8 * len(by_cluster)
