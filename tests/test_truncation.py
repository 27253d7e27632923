"""Truncated episodes count: `test` with a context too short for the interview (issue #21 item 3)."""

import json
import warnings
from pathlib import Path

import pytest

from grpodx.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # a whole evaluation
def test_a_short_context_shows_in_the_metrics_and_warns(tmp_path, model_cache):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        main(
            [
                "test",
                "--config",
                str(ROOT / "configs" / "tiny.yaml"),
                f"--trainer.default_root_dir={tmp_path}",
                f"--model.policy.cache_dir={model_cache}",
                "--trainer.enable_progress_bar=false",
                "--model.policy.max_seq_len=300",
            ]
        )
    folder = next((tmp_path / "evaluations").glob("test_*"))  # an evaluation of no run lands in DIR/evaluations/
    result = json.loads((folder / "results" / "test.json").read_text())
    lines = [json.loads(line) for line in (folder / "transcripts" / "test.jsonl").read_text().splitlines()]
    truncated = sum(r["status"] == "truncated" for r in lines)
    metrics = result["metrics"]
    assert truncated > 0 and result["episodes"] == len(lines)
    assert metrics["truncated"] == truncated / len(lines)
    diagnosed = sum(r["status"] == "diagnosed" for r in lines)
    assert metrics["diagnosed"] == diagnosed / (len(lines) - sum(r["status"] == "env_error" for r in lines))
    assert metrics["accuracy"] <= 1 - metrics["truncated"]
    assert any("ran out of context" in str(w.message) for w in caught) == (metrics["truncated"] > 0.1)
