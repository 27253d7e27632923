"""The bench commands run end to end on the tiny model and print the figures the README reports
(the numbers themselves are measured by hand: timed tests would only measure the machine)."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from torch import nn

ROOT = Path(__file__).resolve().parents[1]


def bench(*args: str, cache: str) -> dict:
    command = [sys.executable, "-m", "grpodx", "bench", *args, "--config", str(ROOT / "configs" / "tiny.yaml"), "--cache-dir", cache]
    # a guard against a hang, not a speed test: on a shared 2-core machine these take minutes
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
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
    # the critical path: some episode's waits (its opening and replies, 20 ms each) and its forwards
    path = result["critical_path"]
    assert 1 <= path["patient_waits"] <= 2 and path["waits_s"] == path["patient_waits"] * 0.02
    assert 0 < path["forwards"] <= rollout["longest_episode"]["generated_tokens"]
    assert path["per_forward_s"] == rollout["generate_s"] / rollout["forwards"] and path["seconds"] == path["waits_s"] + path["forwards_s"]
    assert result["rollout_vs_critical_path"] == rollout["seconds"] / path["seconds"]
    assert rollout["seconds"] > path["waits_s"]  # an episode's waits come one after another: a hard floor
    assert "paths" not in rollout and "paths" not in sequential


def _benchmark(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_critical_path_is_the_slowest_episode_at_the_measured_forward_cost():
    critical_path = _benchmark("bench").critical_path
    run = {"generate_s": 2.0, "forwards": 100, "paths": [(3, 40), (1, 90)]}  # 20 ms a forward
    # 100 ms waits: 3 * 0.1 + 40 * 0.02 = 1.1 s against 1 * 0.1 + 90 * 0.02 = 1.9 s, the token-heavy one
    path = critical_path(run, latency_ms=100)
    assert (path["patient_waits"], path["forwards"]) == (1, 90) and abs(path["seconds"] - 1.9) < 1e-9
    # 1 s waits: 3 + 0.8 = 3.8 s against 1 + 1.8 = 2.8 s, the one with more replies
    path = critical_path(run, latency_ms=1000)
    assert (path["patient_waits"], path["forwards"]) == (3, 40) and abs(path["seconds"] - 3.8) < 1e-9


class _Block(nn.Module):
    """A block shaped like a PEFT-wrapped layer: the base Linear and LoRA's two small ones."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(8, 24)
        self.lora_A = nn.ModuleDict({"default": nn.Linear(8, 2)})
        self.lora_B = nn.ModuleDict({"default": nn.Linear(2, 24)})


class _Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([_Block(), _Block()])
        self.lm_head = nn.Linear(8, 100)

    def get_output_embeddings(self) -> nn.Module:
        return self.lm_head


def test_flop_count_takes_the_frozen_weights_and_the_head_at_doctor_rows():
    flops = _benchmark("flops")
    body, head = flops.linear_shapes(_Model())
    assert body == {(8, 24): 2} and head == (8, 100)  # LoRA's matrices and the head are not body weights
    # N_body = 2 * 8 * 24 = 384; 10 tokens, the head at 3 of them: 2 * 384 * 10 + 2 * 800 * 3 = 12480 a pass
    assert flops.counted_flops(body, head, tokens=10, head_rows=3, passes=3) == 3 * 12480


@pytest.mark.slow  # a process that builds the model and profiles
def test_bench_matmul_reports_the_update_as_a_share_of_the_matmul_rate(model_cache):
    result = bench("matmul", "--repeats", "1", "--min-seconds", "0.01", cache=model_cache)
    config = json.loads(next(Path(model_cache).glob("tiny-phi3*/config.json")).read_text())
    h, inter, layers, vocab = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"], config["vocab_size"]
    # per layer: fused qkv (h -> 3h, as many key/value heads as query heads), o (h -> h), gate_up (h -> 2I), down (I -> h)
    assert result["body_weights"] == layers * (h * 3 * h + h * h + h * 2 * inter + inter * h)
    assert result["head"] == {"hidden": h, "vocab": vocab}
    tokens, doctor = result["tokens"], result["doctor_tokens"]
    per_pass = 2 * result["body_weights"] * tokens + 2 * h * vocab * doctor
    assert result["loss_pass"]["counted_flops"] == 3 * per_pass and result["warmup_step"]["counted_flops"] == 2 * per_pass
    rate = result["matmul_rate"][result["passes_run_in"]]["flops_per_s"]
    for timed in (result["loss_pass"], result["warmup_step"]):
        assert timed["flops_per_s"] == timed["counted_flops"] / timed["seconds"] and timed["of_matmul_rate"] == timed["flops_per_s"] / rate
    # attention, beside the count: 2 products of 2 * d * n * (n + 1) / 2 a layer and row (causal), d = h here;
    # a loss pass has two forwards and a backward at twice a forward, a warm-up step one and one
    rows, n = result["rows"], tokens // result["rows"]
    forward = layers * rows * 2 * h * n * (n + 1)
    assert result["loss_pass"]["attention_flops"] == 4 * forward and result["warmup_step"]["attention_flops"] == 3 * forward
    assert "float32" in result["matmul_rate"] and len(result["matmul_rate"]["float32"]["flops_per_s_by_shape"]) == 5
    profile = result["loss_pass_profile_top10"]
    assert 1 <= len(profile) <= 10 and all(0 < op["share"] <= 1 for op in profile)
    assert [op["self_wall_s"] for op in profile] == sorted((op["self_wall_s"] for op in profile), reverse=True)


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
