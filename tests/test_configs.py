"""Every config in configs/ parses into the full recipe (without loading a model)."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
LEARN = ["--config", "configs/smollm2-learn.yaml"]


def print_config(*args: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "grpodx", "fit", *args, "--print_config"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    return yaml.safe_load(out.stdout)


def test_learning_experiment_config_holds_the_cold_start_choices():
    config = print_config(*LEARN, "--config", "configs/smollm2-unseen-diagnoses.yaml")
    rollout, reward = config["model"]["rollout"], config["model"]["reward"]
    assert rollout["force_final_diagnosis"] and rollout["eval_repetition_penalty"] > 1
    assert reward["w_format_graded"] > 0 and config["warmup"]["steps"] > 0
    learned = set(yaml.safe_load((ROOT / "configs" / "smollm2-learn.yaml").read_text())["data"]["diagnoses"])
    assert len(config["data"]["diagnoses"]) == 12 and not learned & set(config["data"]["diagnoses"])


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "configs").glob("*.yaml") if p.name != "smollm2-unseen-diagnoses.yaml"))
def test_every_config_parses(name):
    assert print_config("--config", f"configs/{name}")["model"]["policy"]["model"]
