"""A 2-process DDP evaluation (gloo, CPU) gives the metrics of a single process on the same cases."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def evaluate(root: Path, model_cache: str, *extra: str) -> Path:
    # 5 cases: two ranks get 3 and 2, where a padding sampler would evaluate one case twice;
    # one case per batch so that each case is generated alone in both set-ups
    command = [
        sys.executable,
        "-m",
        "grpodx",
        "test",
        "--config",
        str(ROOT / "configs" / "tiny.yaml"),
        f"--trainer.default_root_dir={root}",
        f"--model.policy.cache_dir={model_cache}",
        "--trainer.enable_progress_bar=false",
        "--data.max_eval_cases=5",
        "--data.eval_batch_size=1",
        *extra,
    ]
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return root / "evaluations" / "test_0"


@pytest.mark.slow  # two processes
def test_two_process_ddp_evaluation_matches_one_process(tmp_path, model_cache):
    single = evaluate(tmp_path / "single", model_cache)  # first: it also builds the tiny model in the cache
    ddp = evaluate(tmp_path / "ddp", model_cache, "--trainer.strategy=ddp", "--trainer.devices=2", "--trainer.accelerator=cpu")
    one, two = (json.loads((run / "results" / "test.json").read_text()) for run in (single, ddp))
    assert two["world_size"] == 2 and one["world_size"] == 1
    assert one["case_ids"] == two["case_ids"] and len(one["case_ids"]) == 5
    assert two["episodes"] == 5  # no case counted twice
    assert set(one["metrics"]) == set(two["metrics"])
    for name, value in one["metrics"].items():
        assert two["metrics"][name] == pytest.approx(value, abs=1e-6), name
    assert one["intervals"] == two["intervals"]
    # what asking bought, turn budgets included, adds up over ranks like the rest
    assert {"accuracy_open", "asking_gain", "question_yield", "repeated_questions", "accuracy_by_turns/3"} <= set(two["metrics"])
    assert one["tests"] == two["tests"] and two["tests"]["asking_gain"]["pairs"] == 5
    lines = [json.loads(line) for line in (ddp / "transcripts" / "test.jsonl").read_text().splitlines()]
    assert sorted(r["case"] for r in lines) == two["case_ids"]
