"""Truncated episodes count: `test` with a context too short for the interview (issue #21 item 3)."""

import json
import warnings

import pytest

from tests.run_helpers import evaluate_tiny


@pytest.mark.slow  # a whole evaluation
def test_a_short_context_shows_in_the_metrics_and_warns(tmp_path, model_cache):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        folder = evaluate_tiny(tmp_path, model_cache, "--model.policy.max_seq_len=300")
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
