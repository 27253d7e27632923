"""grpodx against TRL's `GRPOTrainer` on the same single-turn GRPO step, one after the other.

    pip install -e ".[bench]" -c benchmarks/constraints.txt     # TRL; the constraint keeps torch==2.13.0
    OMP_NUM_THREADS=1 python benchmarks/trl_compare.py [--config configs/cpu.yaml] [--cases 2] [--group-size 4]
        [--max-new-tokens 48] [--temperature 0.7] [--beta 0.04] [--steps 2] [--precision fp32]

What is the same on both sides:
1. the weights: the config's `policy.model` as grpodx resolves it (SmolLM2-135M-Instruct from its local cache);
2. the LoRA adapter: r, alpha, dropout and target modules from the config;
3. the prompts: grpodx runs first, `fit` with one doctor turn and the forced `DIAGNOSIS:` prefix; its first-turn
   prompts (system prompt + the patient's opening) are read back from its own transcripts, rendered with the
   model's chat template plus `DIAGNOSIS:`, and given to TRL in the same order and batches;
4. group size (`num_generations`), new tokens (`max_completion_length`), temperature, top_p 1, no top_k;
   the precision (`--precision`: fp32, or bf16 autocast on both) and gradient checkpointing (the config's
   `policy.gradient_checkpointing`; TRL's GRPOConfig turns it on by default, which also makes its generate()
   run without a KV cache);
5. the update: beta (KL to the adapter-disabled base), clip 0.2 / 0.28, token-level aggregation (TRL's `dapo`),
   group-scaled advantages, one optimizer step per batch (mu = 1), AdamW at a constant learning rate with the
   config's betas, weight decay and gradient clipping, all episodes of a step in one micro-batch;
6. the reward: the embedded rubric judge's credit for the diagnosis (grpodx adds its format and turn terms;
   computing them costs microseconds).
Each side runs in its own process, so each peak memory is that whole process's maximum resident set (model,
libraries and step). The figures are those of the last step (the first pays one-off warm-up costs). grpodx's
generation seconds are its rollout's (the doctor's sampling plus the embedded patient's opening and the judge,
which answer in milliseconds); TRL's are its calls of `generate()`; update = step - generation - reward.
Prints one JSON object with both sides and grpodx/TRL ratios. Each side also gives the share of its
reported step's groups whose rewards were all equal: grpodx skips their rows exactly while the adapter equals
the base (or beta is 0), TRL always computes them; a `caveats` entry says when that can make the update
seconds compare unlike work. Short completions (few new tokens) rarely get any credit, so use enough of them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "configs" / "cpu.yaml"))
    parser.add_argument("--cases", type=int, default=2, help="cases per step (data.batch_size)")
    parser.add_argument("--group-size", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--beta", type=float, default=0.04)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--steps", type=int, default=2, help="optimizer steps on each side; the last is reported")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32", help="both sides: fp32, or bf16 autocast")
    parser.add_argument("--side", choices=("grpodx", "trl"), help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.side:
        result = (_grpodx if args.side == "grpodx" else _trl)(args)
        Path(args.work, f"{args.side}.json").write_text(json.dumps(result))
        return 0
    with tempfile.TemporaryDirectory(prefix="grpodx-trl-") as work:
        sides = {side: _child(argv or sys.argv[1:], side, work) for side in ("grpodx", "trl")}
    ratios = {f"{k}_grpodx_over_trl": sides["grpodx"][k] / sides["trl"][k] for k in ("step_s", "generate_s", "update_s", "peak_rss_mb") if sides["trl"][k]}
    settings = {k: v for k, v in vars(args).items() if k not in ("side", "work", "config")}
    print(json.dumps({"config": args.config, **settings, **sides, **ratios, "caveats": _caveats(sides)}, indent=2))
    return 0


def _caveats(sides: dict[str, dict[str, Any]]) -> list[str]:
    """What makes the ratios above compare unlike work."""
    ours, theirs = sides["grpodx"]["zero_variance_groups"], sides["trl"]["zero_variance_groups"]
    notes = []
    if ours > 0:
        notes.append(
            f"grpodx: {ours:.2f} of the reported step's groups had equal rewards; it skips their rows while the adapter equals"
            " the base (or beta is 0, or grpo.kl_on_zero_advantage is false), where TRL computes every row: compare update_s with that in mind"
        )
    if abs(ours - theirs) > 1e-9:
        notes.append(
            f"equal-reward groups differ (grpodx {ours:.2f}, TRL {theirs:.2f}; grpodx's reward adds format and turn terms): update_s compares unlike work"
        )
    return notes


def _child(argv: list[str], side: str, work: str) -> dict[str, Any]:
    """Run one side in a fresh process; its peak memory is that process's maximum resident set."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, __file__, *argv, "--side", side, "--work", work])
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"trl_compare: the {side} side failed (exit {os.waitstatus_to_exitcode(status)}); its output is above")
    result = json.loads(Path(work, f"{side}.json").read_text())
    return result | {"peak_rss_mb": usage.ru_maxrss / 1024, "process_s": time.perf_counter() - started}


# --- grpodx -------------------------------------------------------------------------------------
def _grpodx(args: argparse.Namespace) -> dict[str, Any]:
    """`fit` for `--steps` steps of one forced-diagnosis turn; timings from its own TensorBoard scalars."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from grpodx.cli import main as grpodx_main

    batch = args.cases * args.group_size
    overrides = {
        "trainer.max_steps": args.steps,
        "trainer.limit_val_batches": 0,
        "trainer.default_root_dir": args.work,
        "trainer.enable_progress_bar": "false",
        "model.validate_before_fit": "false",
        "model.policy.precision": args.precision,
        "model.rollout.max_turns": 1,
        "model.rollout.force_final_diagnosis": "true",
        "model.rollout.group_size": args.group_size,
        "model.rollout.max_new_tokens": args.max_new_tokens,
        "model.rollout.temperature": args.temperature,
        "model.grpo.beta": args.beta,
        "model.grpo.micro_batch_size": batch,
        "model.grpo.aggregation": "token",
        "model.grpo.scale_rewards": "group",
        "model.grpo.epsilon_low": 0.2,
        "model.grpo.epsilon_high": 0.28,
        "model.optim.lr": args.lr,
        "model.optim.warmup_steps": 0,
        "model.optim.schedule": "constant",
        "data.batch_size": args.cases,
        "results.train_every_n_steps": 1,
        "warmup.steps": 0,  # both sides start from the same fresh adapter (configs/cpu.yaml warms up first)
    }
    argv = ["fit", "--config", args.config, *(f"--{k}={v}" for k, v in overrides.items())]
    started = time.perf_counter()
    try:
        grpodx_main(argv)
    except SystemExit as stop:
        if stop.code:
            raise
    fit_s = time.perf_counter() - started
    run = max(Path(args.work, "lightning_logs").glob("version_*"), key=lambda p: int(p.name.split("_")[1]))
    events = EventAccumulator(str(run)).Reload()
    last = {tag: events.Scalars(tag)[-1].value for tag in ("time/rollout_s", "time/update_s", "train/zero_variance_groups")}
    prompts = [json.loads(line) for line in (run / "transcripts" / "train.jsonl").read_text().splitlines()]
    Path(args.work, "prompts.json").write_text(json.dumps([{"case": p["case"], "messages": p["messages"][:2]} for p in prompts]))
    return {
        "step_s": last["time/rollout_s"] + last["time/update_s"],
        "generate_s": last["time/rollout_s"],
        "update_s": last["time/update_s"],
        "zero_variance_groups": last["train/zero_variance_groups"],
        "fit_s": fit_s,
        "episodes_per_step": batch,
    }


# --- TRL ----------------------------------------------------------------------------------------
def _trl(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from grpodx.cases.sources import load_sources
    from grpodx.env import DiagnosisIndex, JudgeConfig, build_judge
    from grpodx.policy.models import resolve_model
    from grpodx.rollout.dialogue import DIAGNOSIS_PREFIX, read_doctor_turn

    config = yaml.safe_load(Path(args.config).read_text())
    policy, data = config["model"]["policy"], config.get("data", {})
    folder = resolve_model(policy["model"], policy.get("cache_dir", "~/.cache/grpodx"))
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    records = json.loads(Path(args.work, "prompts.json").read_text())
    seen: dict[str, str] = {}
    for r in records:  # one prompt per case, in grpodx's order: TRL repeats each num_generations times
        seen.setdefault(r["case"], tokenizer.apply_chat_template(r["messages"], tokenize=False, add_generation_prompt=True) + DIAGNOSIS_PREFIX)
    dataset = Dataset.from_dict({"prompt": list(seen.values()), "case": list(seen)})

    cases, _ = load_sources(data.get("sources", ["builtin"]), seed=data.get("seed", 0), variants_per_disease=data.get("variants_per_disease", 1))
    by_id = {c.id: c for c in cases}
    judge = build_judge(JudgeConfig(), DiagnosisIndex.for_cases(cases))
    reward_s = [0.0]

    def credit(completions: list[str], case: list[str], **_: Any) -> list[float]:
        started = time.perf_counter()
        turns = [read_doctor_turn(DIAGNOSIS_PREFIX + c) for c in completions]
        verdicts = asyncio.run(_score_all(judge, [by_id[i] for i in case], turns))
        reward_s[0] += time.perf_counter() - started
        return [v.credit for v in verdicts]

    lora = policy.get("lora", {})
    trl_config = GRPOConfig(
        output_dir=args.work,
        use_cpu=not torch.cuda.is_available(),
        bf16=args.precision == "bf16",
        gradient_checkpointing=bool(policy.get("gradient_checkpointing", False)),
        report_to="none",
        save_strategy="no",
        logging_steps=1,
        max_steps=args.steps,
        seed=0,
        per_device_train_batch_size=args.cases * args.group_size,
        gradient_accumulation_steps=1,
        num_generations=args.group_size,
        max_completion_length=args.max_new_tokens,
        temperature=args.temperature,
        top_p=1.0,
        top_k=0,
        beta=args.beta,
        epsilon=0.2,
        epsilon_high=0.28,
        loss_type="dapo",
        scale_rewards="group",
        num_iterations=1,
        learning_rate=args.lr,
        lr_scheduler_type="constant",
        warmup_steps=0,
        optim="adamw_torch",
        adam_beta1=0.9,
        adam_beta2=0.99,
        weight_decay=0.0,
        max_grad_norm=1.0,
        remove_unused_columns=False,
        shuffle_dataset=False,
        dataloader_num_workers=0,
    )
    peft_config = LoraConfig(
        r=lora.get("r", 16),
        lora_alpha=lora.get("alpha", 32),
        lora_dropout=lora.get("dropout", 0.0),
        target_modules=lora.get("target_modules", "all-linear"),
        task_type="CAUSAL_LM",
    )
    trainer = GRPOTrainer(model=model, reward_funcs=credit, args=trl_config, train_dataset=dataset, processing_class=tokenizer, peft_config=peft_config)
    timer = _step_timer(reward_s)
    trainer.add_callback(timer)
    _time_generate(trainer.model, timer)
    trainer.train()
    last = timer.steps[-1]
    return {
        "step_s": last["step_s"],
        "generate_s": last["generate_s"],
        "update_s": last["step_s"] - last["generate_s"] - last["reward_s"],
        "reward_s": last["reward_s"],
        "zero_variance_groups": last.get("zero_variance_groups", float("nan")),
        "trl": _version("trl"),
    }


async def _score_all(judge, cases, turns):
    return await asyncio.gather(*(judge.score(c, t.diagnosis or "", list(t.differential)) for c, t in zip(cases, turns)))


def _step_timer(reward_s: list[float]) -> Any:
    """A TrainerCallback timing each optimizer step, the generation inside it, and the reward calls."""
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self) -> None:
            self.generate_s, self.started = 0.0, 0.0
            self.steps: list[dict[str, float]] = []

        def on_step_begin(self, *_: Any, **__: Any) -> None:
            self.started, self.generate_s, reward_s[0] = time.perf_counter(), 0.0, 0.0

        def on_step_end(self, *_: Any, **__: Any) -> None:
            self.steps.append({"step_s": time.perf_counter() - self.started, "generate_s": self.generate_s, "reward_s": reward_s[0]})

        def on_log(self, *_: Any, logs: dict[str, float] | None = None, **__: Any) -> None:
            if logs and "frac_reward_zero_std" in logs and self.steps:  # logged after the step it describes
                self.steps[-1]["zero_variance_groups"] = float(logs["frac_reward_zero_std"])

    return StepTimer()


def _time_generate(model: Any, timer: Any) -> None:
    """Count the wall time of every outermost `generate()` call into the step's generation seconds."""
    inner, depth = model.generate, [0]

    def generate(*a: Any, **k: Any) -> Any:
        depth[0] += 1
        started = time.perf_counter()
        try:
            return inner(*a, **k)
        finally:
            depth[0] -= 1
            if depth[0] == 0:
                timer.generate_s += time.perf_counter() - started

    model.generate = generate


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


if __name__ == "__main__":
    sys.exit(main())
