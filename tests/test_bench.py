"""The bench commands run end to end on the tiny model and print the figures the README reports
(the numbers themselves are measured by hand: timed tests would only measure the machine)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def bench(*args: str, cache: str) -> dict:
    command = [sys.executable, "-m", "grpodx", "bench", *args, "--config", str(ROOT / "configs" / "tiny.yaml"), "--cache-dir", cache]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout[done.stdout.index("{") :])


@pytest.mark.slow
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


def test_bench_reads_its_config_as_fit_does_so_an_unknown_key_is_an_error(tmp_path):
    config = yaml.safe_load((ROOT / "configs" / "tiny.yaml").read_text())
    config["model"]["grpo"] = {**config["model"].get("grpo", {}), "mu_typo": 2}
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(config))
    # refused while parsing, before any model is built (bench rollout and step share the parsing)
    done = subprocess.run([sys.executable, "-m", "grpodx", "bench", "step", "--config", str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "mu_typo" in done.stderr, done.stderr[-2000:]


@pytest.mark.slow  # three processes
def test_bench_step_times_the_loss_pass_against_a_plain_pass(model_cache):
    result = bench("step", "--repeats", "1", cache=model_cache)
    assert result["rows"] >= 1 and result["doctor_tokens"] > 0 and result["beta"] > 0
    assert result["loss_pass_tokens_per_s"] > 0 and result["plain_forward_backward_tokens_per_s"] > 0
    assert set(result["peak_memory_mb"]) == {f"beta={result['beta']}", "beta=0.0"}
