"""The bench commands run end to end on the tiny model and print the figures the README reports
(the numbers themselves are measured by hand: timed tests would only measure the machine)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bench(*args: str, cache: str) -> dict:
    command = [sys.executable, "-m", "grpodx", "bench", *args, "--config", str(ROOT / "configs" / "tiny.yaml"), "--cache-dir", cache]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout[done.stdout.index("{") :])


def test_bench_rollout_compares_batched_sequential_and_raw_generate(model_cache):
    result = bench("rollout", "--episodes", "4", "--max-turns", "2", "--latency-ms", "20", "--repeats", "2", cache=model_cache)
    rollout, sequential = result["rollout"], result["sequential"]
    assert rollout["episodes"] == sequential["episodes"] == 4
    for timed in (rollout, sequential, result["ceiling"]):  # each time is the median of the timed runs
        assert len(timed["runs_s"]) == 2 and timed["seconds"] == sum(timed["runs_s"]) / 2
    for timed in (rollout, sequential):  # seeded alike, the repeats sample the same episodes on a CPU
        assert timed["runs_generated_tokens"] == [timed["generated_tokens"]] * 2
    assert rollout["generated_tokens"] > 0 and result["ceiling"]["generated_tokens_per_s"] > 0
    assert result["rollout_vs_sequential"] == rollout["episodes_per_s"] / sequential["episodes_per_s"]
    # the KV cache: a turn feeds only what the conversation added, not the whole context again
    assert rollout["prefill_tokens_per_episode"] <= rollout["prefill_tokens_per_episode_without_cache"]
    # a group's attempts share their first prompt's encoding; one episode at a time shares nothing
    assert rollout["prefill_tokens_encoded_per_episode"] < rollout["prefill_tokens_per_episode"]
    assert sequential["prefill_tokens_encoded_per_episode"] == sequential["prefill_tokens_per_episode"]
    assert 1 <= rollout["rows_per_one_token_forward"] <= 4 and sequential["rows_per_one_token_forward"] == 1
    assert rollout["longest_episode"]["generated_tokens"] <= rollout["forwards"]
