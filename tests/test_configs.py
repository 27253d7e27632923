"""Every config in configs/ parses into the full recipe (without loading a model)."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
LEARN = ["--config", "configs/smollm2-learn.yaml"]
INQUIRY = ["--config", "configs/cpu.yaml", "--config", "configs/smollm2-inquiry.yaml"]
OVERLAYS = {"smollm2-unseen-diagnoses.yaml": LEARN, "smollm2-inquiry.yaml": INQUIRY[:2], "smollm2-inquiry-unseen.yaml": INQUIRY}
"""Configs layered on another: parsed on top of their base."""
SIZES = {
    "trainer": {"max_steps", "val_check_interval", "limit_val_batches"},
    "model": {"validate_before_fit"},
    "data": {"eval_batch_size", "max_eval_cases"},
    "adapter_export": {"save_steps"},
    "checkpoint": {"every_n_train_steps"},
}
"""What the inquiry experiment may change of the main command's recipe: sizes, never method."""


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


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "configs").glob("*.yaml")))
def test_every_config_parses(name):
    assert print_config(*OVERLAYS.get(name, []), "--config", f"configs/{name}")["model"]["policy"]["model"]


def test_the_main_command_is_the_inquiry_recipe_and_the_experiment_changes_only_sizes():
    main, experiment = print_config(*INQUIRY[:2]), print_config(*INQUIRY)
    assert main["data"]["sources"] == ["inquiry"] and main["warmup"]["steps"] > 0 and main["warmup"]["questions"] == "cluster_questions"
    assert main["model"]["validate_before_fit"] and any(c["class_path"].endswith("BeforeAfter") for c in main["trainer"]["callbacks"])
    overlay = yaml.safe_load((ROOT / "configs" / "smollm2-inquiry.yaml").read_text())
    assert {group: set(keys) - SIZES.get(group, set()) for group, keys in overlay.items()} == {group: set() for group in overlay}
    for group in ("model", "data", "warmup"):  # everything else is the main command's own
        changed = {k for k in main[group] if main[group][k] != experiment[group][k]}
        assert changed <= SIZES.get(group, set()), (group, changed)
    clusters = {d: c for d, c in _clusters().items() if d in main["data"]["diagnoses"]}
    assert len(main["data"]["diagnoses"]) >= 24 and len(clusters) == len(main["data"]["diagnoses"]) and len(set(clusters.values())) >= 6


def test_the_held_out_diagnoses_are_of_the_trained_clusters_and_never_trained():
    trained, unseen = (
        print_config(*INQUIRY)["data"]["diagnoses"],
        print_config(*INQUIRY, "--config", "configs/smollm2-inquiry-unseen.yaml")["data"]["diagnoses"],
    )
    clusters = _clusters()
    assert not set(trained) & set(unseen) and {clusters[d] for d in unseen} == {clusters[d] for d in trained}


def _clusters() -> dict[str, str]:
    from grpodx.cases.sources import load_sources

    cases, _ = load_sources(["inquiry"], seed=0, variants_per_disease=1)
    return {c.diagnosis: c.cluster for c in cases}
