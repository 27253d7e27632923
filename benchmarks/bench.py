"""`python -m grpodx bench rollout|step|matmul --config FILE`: throughput of the rollout and of the update.

(`bench inquiry` is the inquiry environment's ceiling and floor: benchmarks/inquiry.py.)

`bench rollout` runs `--episodes` episodes against a local OpenAI-compatible patient that answers
after `--latency-ms` (grpodx.testing.fake_server), batched as training does, each run followed by the
ceiling: one raw batched `transformers.generate` of as many new tokens per row at the same batch
size; then one episode at a time (each patient call awaited in turn). Each is timed `--repeats`
times on the same work (the same RNG state) after one untimed run and reports the median; the
generation-vs-ceiling ratio is the median of each pair's (this machine's speed drifts).
`bench step` times the GRPO loss pass
(policy + reference + backward at doctor positions) against a plain forward+backward over the
same tokens, and each configuration's peak memory in a fresh process. `bench matmul` measures the
machine's matmul rate at the model's shapes and the loss pass and a warm-up step as a share of it
(benchmarks/flops.py says what is counted). Each prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields, replace
from typing import Any


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grpodx bench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    for name in ("rollout", "step", "matmul", "_memory"):
        p = sub.add_parser(name)
        p.add_argument("--config", required=True, help="a fit config (its model: section is used)")
        p.add_argument("--model", default=None, help="override model.policy.model (a folder or id)")
        p.add_argument("--cache-dir", default=None, help="override model.policy.cache_dir")
    rollout = sub.choices["rollout"]
    rollout.add_argument("--latency-ms", type=float, default=0.0, help="delay of every patient reply")
    rollout.add_argument("--episodes", type=int, default=16)
    rollout.add_argument("--max-turns", type=int, default=None, help="override model.rollout.max_turns")
    rollout.add_argument("--no-sequential", action="store_true", help="skip the one-at-a-time baseline")
    sub.choices["matmul"].add_argument("--no-profile", action="store_true", help="skip the profile of a loss pass")
    sub.choices["matmul"].add_argument("--min-seconds", type=float, default=0.2, help="each shape's product is repeated for this long, 3 times")
    for name in ("rollout", "step", "matmul", "_memory"):
        sub.choices[name].add_argument("--repeats", type=int, default=3, help="timed runs of each measurement")
    sub.choices["_memory"].add_argument("--beta", type=float, required=True)
    return parser


def _model(args: argparse.Namespace) -> Any:
    """The config's DoctorGRPO, parsed and built by fit's own LightningCLI (an unknown or bad key
    is the same error as in fit), with this command's overrides."""
    from grpodx.run.cli import build_cli

    argv = ["--config", args.config]
    argv += [f"--model.policy.{key}={value}" for key, value in (("model", args.model), ("cache_dir", args.cache_dir)) if value]
    if getattr(args, "max_turns", None):
        argv.append(f"--model.rollout.max_turns={args.max_turns}")
    return build_cli(argv, run=False).model


def main(argv: list[str]) -> int:
    if argv[:1] == ["inquiry"]:  # no model and no fit config: its own parser, in inquiry.py
        return _inquiry_main(argv[1:])
    args = _parser().parse_args(argv)
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    run = {"rollout": bench_rollout, "step": bench_step, "matmul": bench_matmul, "_memory": _memory}[args.what]
    print(json.dumps(run(args, _model(args)), indent=2))
    return 0


def _inquiry_main(argv: list[str]) -> int:
    return int(_sibling("inquiry").main(argv))


def _sibling(name: str) -> Any:
    """benchmarks/<name>.py, beside this file (the benchmarks are files of the clone, not a package)."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"grpodx_bench_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- rollout ------------------------------------------------------------------------------------
def bench_rollout(args: argparse.Namespace, model: Any) -> dict[str, Any]:
    import litellm
    import torch

    from grpodx.cases.bank import builtin_templates
    from grpodx.cases.variation import instantiate
    from grpodx.env import DiagnosisIndex, JudgeConfig, PatientConfig, build_judge, build_patient
    from grpodx.rollout.engine import RolloutEngine

    litellm.suppress_debug_info = True  # it prints its provider list for a model name it has no price for
    rollout, policy = model.rollout_config, model.policy
    group = rollout.group_size
    cases = [instantiate(t, seed=1) for t in builtin_templates()[: max(args.episodes // group, 1)]]
    with _server("It has been like this for two days, and it is getting worse.", args.latency_ms) as url:
        patient = PatientConfig(model="openai/bench-patient", api_base=url, api_key="sk-bench", max_concurrency=max(args.episodes, 1), num_retries=0)

        def engine() -> RolloutEngine:
            return RolloutEngine(policy, build_patient(patient), build_judge(JudgeConfig(), DiagnosisIndex.for_cases(cases)), rollout)

        def timed(calls: list[tuple[list, int]]) -> dict[str, Any]:
            torch.manual_seed(0)  # every run, batched or not, samples from the same RNG state
            return _timed_run(engine(), calls, rollout.temperature)

        warm = timed([(cases, group)])  # warm-up: first calls (LiteLLM's clients, the model's buffers) are not timed
        prompts = warm["_prompts"]
        ceiling = _Ceiling(policy, prompts, max(round(warm["generated_tokens"] / len(prompts)), 1), rollout.temperature)
        repeats, runs = max(args.repeats, 1), []
        for _ in range(repeats):  # each rollout run and a ceiling run back to back: this machine's speed drifts
            runs.append(timed([(cases, group)]))
            ceiling.run()
        batched = _median_run(runs)
        sequential = None if args.no_sequential else _median_run([timed([([c], 1) for c in cases for _ in range(group)]) for _ in range(repeats)])
    # tokens/s while generating over the ceiling's, from each run and the ceiling run right after it
    pairs = [(r["generated_tokens"] / r["generate_s"]) / (ceiling.new_tokens / c) for r, c in zip(runs, ceiling.runs_s)]
    result = {
        "config": args.config,
        "model": policy.config.model,
        "latency_ms": args.latency_ms,
        "episodes": batched["episodes"],
        "rollout": batched,
        "ceiling": ceiling.result(),
        "generation_vs_ceiling": statistics.median(pairs),
    }
    result["critical_path"] = critical_path(batched, args.latency_ms)
    result["rollout_vs_critical_path"] = batched["seconds"] / result["critical_path"]["seconds"]
    for measured in (batched, sequential or {}):
        measured.pop("paths", None)  # one pair per episode: read by critical_path, too long to print
    if sequential:
        result["sequential"] = sequential
        result["rollout_vs_sequential"] = batched["episodes_per_s"] / sequential["episodes_per_s"]
    return result


@contextmanager
def _server(text: str, latency_ms: float) -> Iterator[str]:
    """A local OpenAI-compatible patient (grpodx.testing.fake_server) in its own process, as a remote
    one would be: its request handling does not compete for this interpreter's lock."""
    command = [sys.executable, "-m", "grpodx.testing.fake_server", "--text", text, "--latency-ms", str(latency_ms)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            url = process.stdout.readline().strip() if process.stdout else ""
            if not url.startswith("http"):
                raise RuntimeError(f"bench: the patient server did not start (exit code {process.poll()})")
            yield url
        finally:
            process.kill()


def _timed_run(engine, calls: list[tuple[list, int]], temperature: float) -> dict[str, Any]:
    from grpodx.rollout.decode import DecodeStats

    before = replace(engine.policy.decode_stats)
    episodes, started = [], time.perf_counter()
    for cases, group in calls:
        episodes += engine.run(cases, list(range(len(cases))), group, temperature)
    wall = time.perf_counter() - started
    times = engine.times
    engine.close()
    after = engine.policy.decode_stats
    decoded = DecodeStats(**{f.name: getattr(after, f.name) - getattr(before, f.name) for f in fields(DecodeStats)})  # this run's counts
    longest = max(episodes, key=lambda e: sum(e.doctor_mask))
    return {
        "episodes": len(episodes),
        "seconds": wall,
        "generated_tokens": sum(sum(e.doctor_mask) for e in episodes),
        "generate_s": times.generate_s,
        "patient_and_judge_s": times.env_s,
        "turns_per_episode": sum(e.turns for e in episodes) / len(episodes),
        "forwards": decoded.calls + decoded.step_forwards,
        "rows_per_one_token_forward": decoded.step_rows / max(decoded.step_forwards, 1),
        "longest_episode": {"generated_tokens": sum(longest.doctor_mask), "turns": longest.turns},
        "prefill_tokens_per_episode": sum(e.prefill_tokens for e in episodes) / len(episodes),
        "prefill_tokens_encoded_per_episode": (decoded.prefill_tokens - decoded.shared_prefill_tokens) / len(episodes),
        "prefill_tokens_per_episode_without_cache": sum(_full_reencoding(e) for e in episodes) / len(episodes),
        "tokens_added_per_episode": sum(len(e.token_ids) for e in episodes) / len(episodes),
        "paths": episode_paths(episodes),
        "_prompts": [e.token_ids[: e.doctor_mask.index(1)] if 1 in e.doctor_mask else e.token_ids for e in episodes],
    }


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Runs of the same work (the same RNG state): the first run's counts, each time the median
    over runs (this machine's noise comes in bursts that only ever add time), and the rates from those."""
    tokens = [r["generated_tokens"] for r in runs]
    if len(set(tokens)) > 1:  # seeded alike, so only a nondeterministic kernel (a GPU's) does this
        print(f"bench: the repeated runs sampled different episodes ({tokens} tokens); their times compare only roughly", file=sys.stderr)
    result = {k: v for k, v in runs[0].items() if k != "_prompts"}
    result |= {key: statistics.median(r[key] for r in runs) for key in ("seconds", "generate_s", "patient_and_judge_s")}
    result["runs_s"] = [r["seconds"] for r in runs]
    result["runs_generated_tokens"] = tokens
    result["episodes_per_s"] = result["episodes"] / result["seconds"]
    result["generated_tokens_per_s"] = result["generated_tokens"] / result["seconds"]
    result["generated_tokens_per_s_while_generating"] = result["generated_tokens"] / max(result["generate_s"], 1e-9)
    return result


# --- critical path -------------------------------------------------------------------------------
def episode_paths(episodes) -> list[tuple[int, int]]:
    """Each episode's (patient waits, sampled tokens): its share of any schedule. One wait per patient
    message (the opening and each reply); each sampled token needs a forward of its own, after the one
    before it (a turn's prefill forward samples its first token). The embedded judge does not wait."""
    return [(sum(m["role"] == "patient" for m in e.dialogue), sum(e.doctor_mask)) for e in episodes]


def critical_path(run: dict[str, Any], latency_ms: float) -> dict[str, Any]:
    """The least wall time any schedule of this run's episodes needs: the longest episode's patient
    waits at the server's latency plus its forwards at this run's measured cost of a forward (its
    generation seconds over its forwards, prefill forwards included). Batching cannot go below it:
    an episode's forwards and waits alternate, each needing the one before."""
    per_forward = run["generate_s"] / max(run["forwards"], 1)
    waits, tokens = max(run["paths"], key=lambda p: p[0] * latency_ms / 1000 + p[1] * per_forward)
    path = {"patient_waits": waits, "forwards": tokens, "per_forward_s": per_forward, "waits_s": waits * latency_ms / 1000, "forwards_s": tokens * per_forward}
    return path | {"seconds": path["waits_s"] + path["forwards_s"]}


def _full_reencoding(episode) -> int:
    """What re-encoding the whole conversation every turn feeds: each turn's full context."""
    mask = episode.doctor_mask
    return sum(i for i in range(len(mask)) if mask[i] and (i == 0 or not mask[i - 1]))


class _Ceiling:
    """Raw batched generate() of the rollout's first prompts, `new` tokens per row (the rollout's
    mean), at its batch size; `min_new_tokens` makes every run the same work. Built with one
    untimed run at that shape."""

    def __init__(self, policy, prompts: list[list[int]], new: int, temperature: float) -> None:
        self.policy, self.prompts, self.new, self.temperature = policy, prompts, new, temperature
        self.runs_s: list[float] = []
        self.new_tokens = sum(len(o) for o in self._generate())

    def run(self) -> None:
        started = time.perf_counter()
        self._generate()
        self.runs_s.append(time.perf_counter() - started)

    def _generate(self) -> list[list[int]]:
        return self.policy.hf_generate(self.prompts, self.new, self.temperature, min_new_tokens=self.new)

    def result(self) -> dict[str, Any]:
        seconds = statistics.median(self.runs_s)
        return {
            "batch": len(self.prompts),
            "new_tokens_per_row": self.new,
            "forwards": self.new,
            "seconds": seconds,
            "runs_s": self.runs_s,
            "generated_tokens_per_s": self.new_tokens / seconds,
        }


# --- step ---------------------------------------------------------------------------------------
def _synthetic_batch(model: Any, rows: int):
    """Rows shaped like max-length episodes: a 256-token prompt, then per turn a full doctor turn
    and a 32-token patient reply. Random ids: throughput does not depend on the words."""
    import torch

    from grpodx.rollout.engine import PackedBatch

    rollout = model.rollout_config
    mask = [0] * 256
    for _ in range(rollout.max_turns):
        mask += [1] * rollout.max_new_tokens + [0] * 32
    mask = mask[: model.policy.config.max_seq_len]
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(10, 1000, (rows, len(mask)), generator=generator)
    doctor = torch.tensor([mask] * rows)
    advantages = torch.linspace(-1, 1, rows)
    return PackedBatch(ids, torch.ones_like(ids), doctor[:, 1:].clone(), advantages)


def _with_beta(module: Any, beta: float) -> Any:
    """The module with KL weight `beta` and a moved adapter, so that the reference pass is really taken."""
    import torch

    module.grpo.beta = beta
    with torch.no_grad():
        for name, p in module.policy.named_parameters():
            if "lora_B" in name:
                p.normal_(std=1e-3)
    return module


def _loss_pass(module, batch) -> None:
    rows = list(range(batch.input_ids.shape[0]))
    normalizer = float(batch.loss_mask.sum())
    old, ref = module.fixed_log_probs(batch, rows, module.policy.adapter_is_base())
    loss, _ = module.micro_loss(batch, rows, old, ref, normalizer)
    loss.backward()


def _plain_pass(module, batch) -> None:
    import torch

    logits = module.policy.model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
    torch.nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1).float(), batch.input_ids[:, 1:].flatten()).backward()


def _best_of(fn, repeats: int) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def bench_step(args: argparse.Namespace, model: Any) -> dict[str, Any]:
    rows = model.grpo.micro_batch_size
    beta = model.grpo.beta or 0.04
    module = _with_beta(model, beta)
    batch = _synthetic_batch(module, rows)
    tokens = batch.input_ids.numel()
    loss_s = _best_of(lambda: _loss_pass(module, batch), args.repeats)
    plain_s = _best_of(lambda: _plain_pass(module, batch), args.repeats)
    memory = {b: _memory_in_child(args, b) for b in (beta, 0.0)}
    return {
        "config": args.config,
        "model": module.policy.config.model,
        "rows": rows,
        "tokens_per_row": batch.input_ids.shape[1],
        "doctor_tokens": int(batch.loss_mask.sum()),
        "beta": beta,
        "loss_pass_tokens_per_s": tokens / loss_s,
        "plain_forward_backward_tokens_per_s": tokens / plain_s,
        "loss_pass_vs_plain": plain_s / loss_s,
        "peak_memory_mb": {f"beta={b}": m["peak_mb"] for b, m in memory.items()},
        "peak_memory_beta_vs_no_beta": memory[beta]["peak_mb"] / memory[0.0]["peak_mb"],
        "plain_peak_memory_mb": memory[beta]["plain_peak_mb"],
    }


def _memory_in_child(args: argparse.Namespace, beta: float) -> dict[str, float]:
    """Peak memory of one loss pass in a fresh process, so that no allocator cache is shared."""
    command = [sys.executable, "-m", "grpodx", "bench", "_memory", "--config", args.config, "--beta", str(beta)]
    command += [f"--{k.replace('_', '-')}={v}" for k, v in (("model", args.model), ("cache_dir", args.cache_dir)) if v]
    # glibc otherwise raises its mmap threshold as large blocks are freed, and then keeps later
    # ones on its heap, so the resident size would follow the allocation history, not what is live
    fixed = {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"}
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ | fixed)
    if done.returncode != 0:
        killed = " (killed: most likely out of memory)" if done.returncode == -9 else ""
        raise RuntimeError(f"bench step: the memory probe with beta={beta} failed with exit {done.returncode}{killed}:\n{done.stderr[-1500:]}")
    return json.loads(done.stdout)


def _memory(args: argparse.Namespace, model: Any) -> dict[str, float]:
    import torch

    module = _with_beta(model, args.beta)
    batch = _synthetic_batch(module, module.grpo.micro_batch_size)
    peak = _Peak()
    with peak:
        _loss_pass(module, batch)
    module.policy.zero_grad(set_to_none=True)
    plain = _Peak()
    with plain:
        _plain_pass(module, batch)
    cuda = torch.cuda.is_available() and module.device.type == "cuda"
    return {"peak_mb": peak.mb, "plain_peak_mb": plain.mb, "measure": "cuda allocator" if cuda else "resident set size above the start"}


class _Peak:
    """Peak resident memory above the level at entry, sampled every millisecond (torch ops release the GIL)."""

    def __enter__(self) -> _Peak:
        self.start = self.peak = _rss()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._done.wait(0.001):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())
        self.mb = (self.peak - self.start) / 2**20


def _rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# --- matmul -------------------------------------------------------------------------------------
def bench_matmul(args: argparse.Namespace, model: Any) -> dict[str, Any]:
    import torch

    from grpodx.policy.loading import compute_dtype
    from grpodx.train.sft import supervised_steps

    flops = _sibling("flops")
    module = _with_beta(model, model.grpo.beta or 0.04)  # beta > 0 and a moved adapter: the reference pass is taken
    policy, batch = module.policy, _synthetic_batch(module, module.grpo.micro_batch_size)
    tokens, doctor = batch.input_ids.numel(), int(batch.loss_mask.sum())
    body, head = flops.linear_shapes(policy.model)
    dtypes = [torch.float32] + ([torch.bfloat16] if flops.native_bf16(policy.device) else [])
    rates = {str(d).removeprefix("torch."): flops.matmul_rate(body, head, tokens, doctor, d, policy.device, args.min_seconds) for d in dtypes}
    runs_in = str(compute_dtype(policy.config.precision, policy.device.type) or torch.float32).removeprefix("torch.")
    rate = rates[runs_in]["flops_per_s"] if runs_in in rates else rates["float32"]["flops_per_s"]
    rows = [(ids.tolist(), [0] + mask.long().tolist()) for ids, mask in zip(batch.input_ids, batch.loss_mask)]
    loss_s = flops.best_of(lambda: _loss_pass(module, batch), args.repeats)
    params = [p for p in policy.parameters() if p.requires_grad]

    def warmup_step() -> None:  # as WarmUp.run calls it: one AdamW step over every row
        log_probs = lambda ids, attention, where: policy.log_probs(ids, attention, where=where)  # noqa: E731
        supervised_steps(log_probs, params, rows, policy.tokenizer.pad_token_id, steps=1, lr=1e-6, batch_size=len(rows), seed=0, device=policy.device)

    warmup_s = flops.best_of(warmup_step, args.repeats)
    attention = flops.attention_flops(policy.model.config, *batch.input_ids.shape)  # one forward's
    return {
        "config": args.config,
        "model": policy.config.model,
        "threads": torch.get_num_threads(),
        "timed_in": flops.clock_name(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "rows": len(rows),
        "tokens": tokens,
        "doctor_tokens": doctor,
        "body_weights": sum(c * i * o for (i, o), c in body.items()),
        "head": {"hidden": head[0], "vocab": head[1]},
        "matmul_rate": rates,
        "passes_run_in": runs_in,
        "loss_pass": flops.achieved(loss_s, flops.counted_flops(body, head, tokens, doctor, passes=3), rate, attention * 4),
        "warmup_step": flops.achieved(warmup_s, flops.counted_flops(body, head, tokens, doctor, passes=2), rate, attention * 3),
        "loss_pass_profile_top10": [] if args.no_profile else flops.profile_top(lambda: _loss_pass(module, batch)),
    }
