"""Data parallel training on CPU (gloo): each rank owns whole groups, metrics are reduced."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # two processes
def test_ddp_ranks_own_disjoint_cases_and_metrics_reduce_over_them(tiny_policy, model_cache, tmp_path):
    probe = tmp_path / "probe"
    command = [
        sys.executable,
        "-m",
        "grpodx",
        "fit",
        "--config",
        str(ROOT / "configs" / "tiny.yaml"),
        "--trainer.strategy",
        "ddp",
        "--trainer.devices",
        "2",
        "--trainer.accelerator",
        "cpu",
        "--trainer.max_steps",
        "2",
        "--trainer.limit_val_batches",
        "0",
        "--trainer.enable_progress_bar",
        "false",
        f"--trainer.default_root_dir={tmp_path}",
        f"--model.policy.cache_dir={model_cache}",
        "--data.batch_size",
        "1",
        "--trainer.callbacks+=ddp_probe.RankProbe",
        f"--trainer.callbacks.out_dir={probe}",
    ]
    env = os.environ | {"PYTHONPATH": f"{ROOT / 'tests'}{os.pathsep}{ROOT}", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    records = {rank: [json.loads(line) for line in (probe / f"rank{rank}.jsonl").read_text().splitlines()] for rank in (0, 1)}
    assert [r["step"] for r in records[0]] == [r["step"] for r in records[1]] == [1, 2]
    seen = [set(r["cases"]) for rank in (0, 1) for r in records[rank]]
    assert all(len(s) == 1 for s in seen) and len(set.union(*seen)) == 4  # disjoint: 2 ranks x 2 steps x 1 case
    for mine, theirs in zip(records[0], records[1]):
        rewards = mine["rewards"] + theirs["rewards"]  # what one process with both groups would average
        for logged in (mine["logged"], theirs["logged"]):
            assert logged["train/reward"] == pytest.approx(sum(rewards) / len(rewards), abs=1e-5)
            assert logged["train/doctor_tokens"] == mine["doctor_tokens"] + theirs["doctor_tokens"]
