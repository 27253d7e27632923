"""The experiment's helper scripts, run as a user runs them."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from grpodx.cases.bank import builtin_templates
from grpodx.cases.jsonl import read_cases
from grpodx.cases.sources import variants

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_fresh_cases_are_new_patients_of_the_experiments_diagnoses(tmp_path):
    out = tmp_path / "fresh.jsonl"
    done = subprocess.run([sys.executable, "scripts/fresh_cases.py", str(out), "--per-disease", "3"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    cases, report = read_cases(out)
    diagnoses = yaml.safe_load((ROOT / "configs/smollm2-learn.yaml").read_text())["data"]["diagnoses"]
    assert len(cases) == 36 and sorted({c.diagnosis for c in cases}) == sorted(diagnoses)
    experiment = variants([t for t in builtin_templates() if t.diagnosis in diagnoses], 0, 10)
    assert not {c.id for c in cases} & {c.id for c in experiment}
    content = lambda c: (c.age, c.sex, c.chief_complaint, c.facts)  # noqa: E731
    assert not {content(c) for c in cases} & {content(c) for c in experiment}


@pytest.mark.slow
def test_fresh_cases_refuse_seeds_the_experiment_used(tmp_path):
    done = subprocess.run([sys.executable, "scripts/fresh_cases.py", str(tmp_path / "x.jsonl"), "--first-seed", "9"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode != 0 and "overlaps the experiment's case seeds" in done.stderr
    assert not (tmp_path / "x.jsonl").exists()


def test_held_out_patients_of_the_inquiry_experiment_are_new_seeds_of_its_diagnoses(tmp_path):
    out = tmp_path / "heldout.jsonl"
    configs = ["--config", "configs/cpu.yaml", "--config", "configs/smollm2-inquiry.yaml"]
    done = subprocess.run([sys.executable, "scripts/fresh_cases.py", str(out), *configs, "--per-disease", "2"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    cases, _ = read_cases(out)
    data = yaml.safe_load((ROOT / "configs/cpu.yaml").read_text())["data"]
    assert len(cases) == 2 * len(data["diagnoses"]) and {c.diagnosis for c in cases} == set(data["diagnoses"])
    seeds = {int(c.id.rsplit("/", 1)[1]) for c in cases}
    assert seeds == {100, 101} and min(seeds) >= data["variants_per_disease"]  # training drew seeds 0..19
    assert all(c.cluster and any(f.key for f in c.facts) for c in cases)  # inquiry patients, key facts kept
