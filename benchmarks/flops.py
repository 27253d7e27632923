"""The update against the hardware (`python -m grpodx bench matmul --config FILE`).

1. The matmul rate: this machine's sustained FLOP/s for the model's own matrix products (every
   distinct linear shape at the batch's token count, each weighted by how often a forward uses it;
   the LM head at the rows the loss applies it to), in fp32, and in bf16 where the CPU or GPU
   computes it natively. Inputs are cast once beforehand: this is the hardware's rate, not autocast's.
2. The GRPO loss pass and one warm-up step on the same batch, as achieved FLOP/s over the rate of
   the dtype they run in (`policy.precision`).
3. Where the rest goes: torch.profiler's top 10 operators of one loss pass, by their own CPU time.

Every time here is the process's CPU time when torch runs one thread (`OMP_NUM_THREADS=1`): on a
shared machine the wall clock counts the other jobs' turns on the core, CPU time only this one's
(caches shared with them still cost something). With more threads, or on a GPU, it is wall time.

What is counted, the standard 2·N·T accounting with N split where grpodx's work differs:
- body: every linear weight of the transformer blocks (attention and MLP; LoRA's base weights),
  2·N_body FLOPs a token forward, at all T tokens of the batch;
- head: hidden × vocab, 2·H·V a row, at the D doctor positions only (grpodx applies it there and
  nowhere else, so counting all T would credit work it never does);
- backward: 2·N a token, the input gradients only. LoRA freezes the base weights, whose weight
  gradients (another 2·N, the "4·N backward" of full fine-tuning) are never computed;
- not counted: LoRA's own matrices (r·(in + out) a layer, ~3% of N at r = 16), attention scores
  (2·T·context·H a layer), norms, softmax, and the head's forward recomputed under checkpointing:
  the figure is useful work over time, as model-FLOPs utilisation is.
So a loss pass with beta > 0 and a moved adapter (reference forward + policy forward + backward)
counts 6·N_body·T + 6·H·V·D, and a warm-up step (forward + backward + AdamW) 4·N_body·T + 4·H·V·D.
Beside it, `with_attention` adds the causal attention products (QKᵀ and AV over the earlier
positions: 2·d·n·(n + 1) a layer for a row of n tokens, d = heads x head size; backward twice the
forward): on short-hidden models such as the tiny one they are as much work as the weights.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

HEAD_CHUNK = 512
"""Rows of the LM head a chunk: `token_log_probs`'s chunk, so the head is timed at the shape it runs."""


def linear_shapes(model: nn.Module) -> tuple[Counter[tuple[int, int]], tuple[int, int]]:
    """(in, out) of every frozen linear weight of the blocks, with how many layers have it, and the
    head's (hidden, vocab). LoRA's adapter matrices are skipped (their names hold `lora_`)."""
    head = model.get_output_embeddings()
    if not isinstance(head, nn.Linear):
        raise ValueError(f"bench matmul: the model's output embedding is {type(head).__name__}, not a Linear layer")
    body: Counter[tuple[int, int]] = Counter()
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear) and module is not head and "lora_" not in name:
            body[(module.in_features, module.out_features)] += 1
    if not body:
        raise ValueError("bench matmul: found no linear layers in the model's blocks")
    return body, (head.in_features, head.out_features)


def counted_flops(body: Counter[tuple[int, int]], head: tuple[int, int], tokens: int, head_rows: int, passes: int) -> float:
    """`passes` x (2·N_body·tokens + 2·H·V·head_rows): a forward is one pass, its backward one more."""
    n_body = sum(count * i * o for (i, o), count in body.items())
    return passes * (2 * n_body * tokens + 2 * head[0] * head[1] * head_rows)


def attention_flops(config: Any, rows: int, row_tokens: int) -> float:
    """One forward's causal attention products: QKᵀ and AV, each 2·d a (query, earlier key) pair."""
    d = config.num_attention_heads * (getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads)
    return config.num_hidden_layers * rows * 2 * d * row_tokens * (row_tokens + 1)


def native_bf16(device: torch.device) -> bool:
    """bf16 products in hardware: AVX512-BF16 or AMX on a CPU (oneDNN's check), bf16 on a GPU."""
    from grpodx.policy.loading import bf16_supported

    return bf16_supported(device.type)


def _on_cpu_clock() -> bool:
    return torch.get_num_threads() == 1 and not torch.cuda.is_available()


def clock() -> float:
    """Seconds to time with: process CPU time on one CPU thread, else the wall clock."""
    return time.process_time() if _on_cpu_clock() else time.perf_counter()


def clock_name() -> str:
    return "process CPU seconds (one thread)" if _on_cpu_clock() else "wall seconds"


def best_of(fn: Callable[[], object], repeats: int) -> float:
    """The least `clock()` seconds of `repeats` calls after an untimed one."""
    fn()
    best = float("inf")
    for _ in range(max(repeats, 1)):
        started = clock()
        fn()
        best = min(best, clock() - started)
    return best


def _time_product(rows: int, shape: tuple[int, int], dtype: torch.dtype, device: torch.device, min_s: float) -> float:
    """Seconds of one [rows, in] x [in, out] product: the best of 3 stretches of at least `min_s`."""
    generator = torch.Generator(device="cpu").manual_seed(0)
    x = torch.randn(rows, shape[0], generator=generator).to(device, dtype)
    w = torch.randn(shape[1], shape[0], generator=generator).to(device, dtype)
    torch.nn.functional.linear(x, w)  # warm-up: oneDNN picks and caches its kernel for the shape
    best = float("inf")
    for _ in range(3):
        n, started = 0, clock()
        while n == 0 or clock() - started < min_s:
            torch.nn.functional.linear(x, w)
            n += 1
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, (clock() - started) / n)
    return best


def matmul_rate(
    body: Counter[tuple[int, int]], head: tuple[int, int], tokens: int, head_rows: int, dtype: torch.dtype, device: torch.device, min_s: float = 0.2
) -> dict[str, Any]:
    """Sustained FLOP/s of one forward's matrix products at these shapes: their FLOPs over their
    summed times (each shape timed at `tokens` rows, as "rows x in x out"; the head in chunks of
    HEAD_CHUNK rows, as `token_log_probs` applies it)."""
    shapes, flops, seconds = {}, 0.0, 0.0
    for (i, o), count in sorted(body.items()):
        s = _time_product(tokens, (i, o), dtype, device, min_s)
        shapes[f"{tokens}x{i}x{o} ({count} layers)"] = 2 * tokens * i * o / s
        flops, seconds = flops + count * 2 * tokens * i * o, seconds + count * s
    rows = min(HEAD_CHUNK, max(head_rows, 1))
    s = _time_product(rows, head, dtype, device, min_s)
    shapes[f"{rows}x{head[0]}x{head[1]} (head, {head_rows} rows)"] = 2 * rows * head[0] * head[1] / s
    flops, seconds = flops + 2 * head_rows * head[0] * head[1], seconds + s * head_rows / rows
    return {"flops_per_s": flops / seconds, "flops_per_s_by_shape": shapes}


def achieved(seconds: float, flops: float, rate: float, attention: float) -> dict[str, float]:
    """The counted FLOPs over the time and the rate; `attention` (left out of the count) adds to it
    in `of_matmul_rate_with_attention`."""
    result = {"seconds": seconds, "counted_flops": flops, "flops_per_s": flops / seconds, "of_matmul_rate": flops / seconds / rate}
    return result | {"attention_flops": attention, "of_matmul_rate_with_attention": (flops + attention) / seconds / rate}


def profile_top(fn: Callable[[], None], top: int = 10) -> list[dict[str, Any]]:
    """The `top` operators of one call of `fn` by their own time (children excluded; the profiler's
    clock is the wall's), with their share of all operators' own time (Python between operators is
    not in it)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    total_us = sum(e.self_cpu_time_total for e in prof.key_averages())
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)[:top]
    return [{"op": e.key, "calls": e.count, "self_wall_s": e.self_cpu_time_total / 1e6, "share": e.self_cpu_time_total / total_us} for e in events]
