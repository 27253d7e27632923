"""DoctorGRPO: one training step = roll out groups, score them, compute advantages, update, log.

Manual optimization because one step is a whole GRPO iteration: rollouts happen inside the
step, the update runs in micro-batches over variable-length episodes, and `mu > 1` takes several
optimizer steps on the same rollouts. `trainer.max_steps` therefore counts optimizer steps.
"""

from __future__ import annotations

import json
import time
import zlib
from contextlib import nullcontext
from dataclasses import asdict
from typing import Any, Literal, cast

import lightning as L
import torch
from lightning.pytorch.core.optimizer import LightningOptimizer
from lightning.pytorch.utilities import rank_zero_warn
from lightning.pytorch.utilities.types import OptimizerLRSchedulerConfig
from torch.optim.lr_scheduler import LRScheduler

from grpodx.cases.schema import Case
from grpodx.env import JudgeConfig, PatientConfig, build_judge, build_patient
from grpodx.env.base import EnvFailureStop
from grpodx.policy.policy import Policy, PolicyConfig
from grpodx.rollout.engine import PackedBatch, RolloutConfig, RolloutEngine, pack
from grpodx.run.knobs import require
from grpodx.run.metrics import DiagnosticMetrics, completion_stats, truncation_warning
from grpodx.run.results import Evaluation, eval_records, gather
from grpodx.run.secrets import redact
from grpodx.train.data import CaseDataModule
from grpodx.train.grpo import GRPOConfig, LossStats, group_advantages, grpo_loss, loss_normalizer, zero_variance_groups
from grpodx.train.optim import OptimConfig, build_optimizer
from grpodx.train.rewards import RewardWeights, Rubric, mean_parts, reward_funcs
from grpodx.types import STATUSES, Episode

TURN_BUDGET_CHOICES = ("validate_test", "always", "off")


def stable_seed(*parts: object) -> int:
    """A seed from values, the same in every process (unlike hash() of a str)."""
    return zlib.crc32(repr(parts).encode()) & 0x7FFFFFFF


class DoctorGRPO(L.LightningModule):
    """The doctor trained by GRPO: its policy, patient, judge, rollout, update and reward settings."""

    def __init__(
        self,
        policy: PolicyConfig = PolicyConfig(),
        patient: PatientConfig = PatientConfig(),
        judge: JudgeConfig = JudgeConfig(),
        rollout: RolloutConfig = RolloutConfig(),
        grpo: GRPOConfig = GRPOConfig(),
        reward: RewardWeights = RewardWeights(),
        optim: OptimConfig = OptimConfig(),
        max_env_error_fraction: float = 0.5,
        seed: int = 0,
        validate_before_fit: bool = True,
        eval_turn_budgets: Literal["validate_test", "always", "off"] = "validate_test",
    ) -> None:
        """
        Args:
            policy: the doctor model and its LoRA adapter.
            patient: the patient simulator (a LiteLLM model string and how to call it).
            judge: the diagnosis judge (a LiteLLM model string and how to call it).
            rollout: group size, turns and sampling of the conversations.
            grpo: the GRPO loss and update.
            reward: weights of the reward parts.
            optim: the optimizer and learning-rate schedule.
            max_env_error_fraction: stop the run when more than this share of a step's episodes
                failed in the patient or judge (an outage, not bad luck).
            seed: seeds sampling: each training step, and each evaluation case, draws from its own
                seed, so a resumed run repeats an uninterrupted one.
            validate_before_fit: `fit` validates once before the first step
                (results/val_step_000000.json, the run's "before"; the CLI runs it, see
                GrpodxCLI.before_fit).
            eval_turn_budgets: where evaluations also measure accuracy at every turn budget
                2..max_turns (one more rollout of the cases per budget, forced to diagnose at
                its last turn): "validate_test" (the validate and test commands), "always"
                (fit's validations too) or "off". Budget 1, which gives accuracy_open and
                asking_gain, runs in every evaluation whatever this says (docs/metrics.md).
        """
        require(
            "model",
            {
                "max_env_error_fraction": (0 <= max_env_error_fraction <= 1, "in [0, 1]"),
                "eval_turn_budgets": (eval_turn_budgets in TURN_BUDGET_CHOICES, f"one of {', '.join(TURN_BUDGET_CHOICES)}"),
            },
            {"max_env_error_fraction": max_env_error_fraction, "eval_turn_budgets": eval_turn_budgets},
        )
        super().__init__()
        groups: dict[str, Any] = dict(policy=policy, patient=patient, judge=judge, rollout=rollout, grpo=grpo, reward=reward, optim=optim)
        hparams = {name: asdict(group) for name, group in groups.items()}
        # through JSON: tuples become lists, so hparams.yaml is plain YAML (yaml.safe_load reads it)
        top = {
            "max_env_error_fraction": max_env_error_fraction,
            "seed": seed,
            "validate_before_fit": validate_before_fit,
            "eval_turn_budgets": eval_turn_budgets,
        }
        plain = json.loads(json.dumps(redact(hparams | top)))
        self.save_hyperparameters(plain)
        # the GRPO log-probs are those of the plain softmax at rollout.temperature
        require("model.rollout", {"top_p": (rollout.top_p == 1.0, "1 for training (the loss's log-probs assume the plain softmax)")}, rollout)
        self.policy = Policy(policy)
        self.patient_config, self.judge_config = patient, judge
        self.rollout_config, self.grpo, self.reward_weights, self.optim = rollout, grpo, reward, optim
        self.rubric = Rubric(reward_funcs(reward))
        self.max_env_error_fraction, self.seed = max_env_error_fraction, seed
        self.validate_before_fit, self.eval_turn_budgets = validate_before_fit, eval_turn_budgets
        self.before_fit = False
        """True while the CLI validates before `fit`: that evaluation is named as fit's are (val_step_000000)."""
        self.automatic_optimization = False
        self.strict_loading = False  # checkpoints hold only the trainable weights
        self.engine: RolloutEngine | None = None
        self.last_episodes: list[Episode] = []
        samples = {"train": rollout.group_size, "val": rollout.eval_samples, "test": rollout.eval_samples}
        self.metrics = torch.nn.ModuleDict({f"{stage}_": DiagnosticMetrics(samples=n, max_turns=rollout.max_turns) for stage, n in samples.items()})
        self._eval_records: dict[str, list[dict[str, Any]]] = {"val": [], "test": []}
        self.last_evaluation: Evaluation | None = None
        """The latest finished validation or test (metrics, every rank's records), for the ResultsWriter."""
        self._env_seen: dict[str, float] = {}

    # --- set-up -------------------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        if self.engine is None:
            self.build_engine(self._judge_cases())

    def build_engine(self, judge_cases: list[Case]) -> RolloutEngine:
        """The rollout engine with its patient and a judge that codes answers against `judge_cases`
        (setup() passes the data module's; scripts that roll out without a Trainer pass their own)."""
        from grpodx.env.rubric import DiagnosisIndex  # the ICD-10-CM code set loads in seconds: not for --help

        index = DiagnosisIndex.for_cases(judge_cases)
        patient, judge = build_patient(self.patient_config), build_judge(self.judge_config, index)
        self.engine = RolloutEngine(self.policy, patient, judge, self.rollout_config)
        return self.engine

    def _judge_cases(self) -> list[Case]:
        """The cases the judge must know, from the trainer's CaseDataModule: the same index in
        fit, validate, test and predict, and in a fresh process on the same data."""
        trainer = self.attached_trainer()
        datamodule = getattr(trainer, "datamodule", None) if trainer else None
        if not isinstance(datamodule, CaseDataModule):
            raise ValueError(
                "DoctorGRPO needs a CaseDataModule (trainer.fit(model, datamodule=CaseDataModule(...)), or `data:` in "
                f"the config): the judge codes answers against the cases it loads; got {type(datamodule).__name__}"
            )
        return datamodule.judge_cases()

    @property
    def rollouts(self) -> RolloutEngine:
        if self.engine is None:
            raise RuntimeError("DoctorGRPO has no rollout engine before setup(): run it through a Trainer (fit/validate/test/predict)")
        return self.engine

    def attached_trainer(self) -> L.Trainer | None:
        """The trainer running this module, or None outside one (where `self.trainer` raises)."""
        try:
            return self.trainer
        except RuntimeError:
            return None

    def stage_metrics(self, stage: str) -> DiagnosticMetrics:
        return cast(DiagnosticMetrics, self.metrics[f"{stage}_"])

    def teardown(self, stage: str) -> None:
        if self.engine is not None:
            self.engine.close()
            self.engine = None

    def configure_optimizers(self) -> OptimizerLRSchedulerConfig:
        params = [p for p in self.policy.parameters() if p.requires_grad]
        optimizer, scheduler = build_optimizer(params, self.optim, self._total_optimizer_steps())
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def _total_optimizer_steps(self) -> int:
        """max_steps counts optimizer steps already; an epoch budget counts training steps (x mu)."""
        trainer = self.attached_trainer()
        if trainer is None:
            return 1
        if trainer.max_steps > 0:
            return trainer.max_steps
        return max(int(trainer.estimated_stepping_batches) * self.grpo.mu, 1)

    # --- the step -----------------------------------------------------------------------------
    def training_step(self, batch: list[Case], batch_idx: int) -> None:
        # Each step draws from its own seed, so a run resumed from a checkpoint samples what an
        # uninterrupted run would have (torch's generator state is not in the checkpoint).
        torch.manual_seed(stable_seed(self.seed, "train", self.global_step))
        started = time.perf_counter()
        episodes = self.roll_out(batch, self.rollout_config.group_size, self.rollout_config.temperature)
        rolled = time.perf_counter()
        self.score(episodes)
        advantages, zero_var = self.advantages(episodes)
        self.check_env_errors(episodes)
        stats, loss, tokens = self.update(episodes, advantages)
        updated = time.perf_counter()
        self.last_episodes = episodes
        self.log_step(episodes, stats, loss, tokens, zero_var, rolled - started, updated - rolled)

    def roll_out(self, cases: list[Case], group_size: int, temperature: float) -> list[Episode]:
        seeds = [stable_seed(self.seed, self.global_step, case.id) for case in cases]
        return self.rollouts.run(cases, seeds, group_size, temperature)

    def score(self, episodes: list[Episode]) -> None:
        for e in episodes:
            if e.trainable:
                e.parts = self.rubric.score(e)
                e.reward = self.rubric.total(e.parts)

    def advantages(self, episodes: list[Episode]) -> tuple[list[float], float]:
        """Per-episode advantages and the fraction of groups with no signal."""
        g = self.rollout_config.group_size
        rewards = torch.tensor([e.reward for e in episodes]).view(-1, g)  # [B, G]
        valid = torch.tensor([e.trainable for e in episodes]).view(-1, g)  # [B, G]
        adv = group_advantages(rewards, valid, self.grpo.scale_rewards)  # [B, G]
        return adv.flatten().tolist(), float(zero_variance_groups(rewards, valid).float().mean())

    def check_env_errors(self, episodes: list[Episode]) -> None:
        failed = [e for e in episodes if e.status == "env_error"]
        if len(failed) > self.max_env_error_fraction * len(episodes):
            raise EnvFailureStop(
                f"{len(failed)} of {len(episodes)} episodes failed in the patient or judge at step {self.global_step + 1}, more than "
                f"model.max_env_error_fraction={self.max_env_error_fraction}; first error: {failed[0].error}"
            )

    def update(self, episodes: list[Episode], advantages: list[float]) -> tuple[LossStats, float, int]:
        """GRPO update over the trainable episodes; returns loss statistics, this rank's loss, doctor tokens.

        No work without signal: only `rows_with_signal` take passes, and while the adapter still
        equals the base the reference pass is the policy's own (see `fixed_log_probs`). Under data
        parallelism every rank divides by the whole batch's count and gradients are summed once
        before the step, so ranks may run different numbers of passes (or none).
        """
        chosen = [(e, a) for e, a in zip(episodes, advantages) if e.trainable]
        batch = pack([e for e, _ in chosen], [a for _, a in chosen], self.policy.tokenizer.pad_token_id) if chosen else None
        budget = self.grpo.token_budget or self.rollout_config.max_turns * self.rollout_config.max_new_tokens
        empty = torch.zeros(0, 1, dtype=torch.long)
        normalizer = loss_normalizer(batch.loss_mask if batch else empty, self.grpo.aggregation, budget, self._sum_over_ranks)
        base = self.policy.adapter_is_base()
        # with mu > 1 the adapter moves after the first optimizer step: skip only what stays exact
        rows = self.rows_with_signal(batch.advantages.tolist(), base and self.grpo.mu == 1) if batch else []
        micro = [rows[i : i + self.grpo.micro_batch_size] for i in range(0, len(rows), self.grpo.micro_batch_size)]
        passes = [(batch, idx, *self.fixed_log_probs(batch, idx, base)) for idx in micro] if batch else []
        optimizer = cast(LightningOptimizer, self.optimizers())
        scheduler = cast(LRScheduler, self.lr_schedulers())
        stats, total, norms = LossStats(), 0.0, []
        for _ in range(self.grpo.mu):
            optimizer.zero_grad()
            with self._local_backward():
                for packed, idx, old, ref in passes:
                    loss, s = self.micro_loss(packed, idx, old, ref, normalizer)
                    self.manual_backward(loss)
                    stats.add(s)
                    total += float(loss.detach())
            self._sum_gradients_over_ranks()
            norms.append(self._grad_norm())
            stats.learning_rate = float(optimizer.param_groups[0]["lr"])  # the rate this step uses
            self.clip_gradients(optimizer.optimizer, gradient_clip_val=self.optim.max_grad_norm, gradient_clip_algorithm="norm")
            optimizer.step()
            scheduler.step()
        stats.grad_norm = sum(norms) / len(norms)
        return stats, total / self.grpo.mu, int(batch.loss_mask.sum()) if batch else 0

    def _grad_norm(self) -> float:
        """The trainable gradient's total L2 norm before clipping (TRL's grad_norm); 0 with no gradient."""
        grads = [p.grad for p in self.policy.parameters() if p.requires_grad and p.grad is not None]
        return float(torch.nn.utils.get_total_norm(grads)) if grads else 0.0

    def rows_with_signal(self, advantages: list[float], adapter_is_base: bool) -> list[int]:
        """Rows whose loss has a gradient. A zero-advantage row's surrogate is exactly 0; its k3 KL
        term is exactly 0 with a zero gradient while the adapter equals the base (logp == ref) and
        absent when beta == 0. Otherwise it keeps its KL term unless `grpo.kl_on_zero_advantage`
        is off, which drops it: the loss then falls by that row's beta * KL (>= 0, logged as kl)."""
        keep_silent = self.grpo.beta > 0 and not adapter_is_base and self.grpo.kl_on_zero_advantage
        return [i for i, a in enumerate(advantages) if a != 0 or keep_silent]

    def fixed_log_probs(self, batch: PackedBatch, idx: list[int], adapter_is_base: bool) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Old (mu > 1) and reference log-probs at doctor positions. While the adapter equals the base
        the reference is the policy itself, so `micro_loss` uses its own detached log-probs: exact."""
        ids, attention = batch.input_ids[idx].to(self.device), batch.attention_mask[idx].to(self.device)
        where, t = batch.loss_mask[idx].to(self.device), self.rollout_config.temperature
        with torch.no_grad():
            old = self.policy.log_probs(ids, attention, t, where) if self.grpo.mu > 1 else None
        if self.grpo.beta == 0:
            return old, None
        if not adapter_is_base:
            return old, self.policy.reference_log_probs(ids, attention, t, where)
        return old, old  # None when mu == 1: `micro_loss` takes its own pass, still the base

    def micro_loss(
        self, batch: PackedBatch, idx: list[int], old: torch.Tensor | None, ref: torch.Tensor | None, normalizer: float
    ) -> tuple[torch.Tensor, LossStats]:
        """The GRPO loss of rows `idx` of `batch` (to backpropagate) and its detached statistics,
        given their `fixed_log_probs`; `normalizer` divides the summed token terms (`loss_normalizer`)."""
        ids, attention = batch.input_ids[idx].to(self.device), batch.attention_mask[idx].to(self.device)
        mask = batch.loss_mask[idx].to(self.device)
        logp, entropy = self.policy.log_probs_and_entropy(ids, attention, self.rollout_config.temperature, mask)  # [n, T-1] each, 0 off the mask
        if ref is None and self.grpo.beta > 0:
            ref = logp.detach()  # the adapter equals the base: the reference is this very pass
        loss, stats = grpo_loss(
            logp,
            old if old is not None else logp.detach(),
            ref,
            batch.advantages[idx].to(self.device),
            mask,
            epsilon_low=self.grpo.epsilon_low,
            epsilon_high=self.grpo.epsilon_high,
            beta=self.grpo.beta,
            aggregation=self.grpo.aggregation,
            normalizer=normalizer,
        )
        stats.entropy_sum = float(entropy[mask.bool()].sum()) if entropy is not None else 0.0
        return loss, stats

    # --- data parallel: each rank owns whole groups ---------------------------------------------
    def _distributed(self) -> bool:
        return torch.distributed.is_available() and torch.distributed.is_initialized() and torch.distributed.get_world_size() > 1

    def _sum_over_ranks(self, values: torch.Tensor) -> torch.Tensor:
        if self._distributed():
            values = values.to(self.device)
            torch.distributed.all_reduce(values)
        return values.cpu()

    def _local_backward(self):
        """DDP would all-reduce on every backward and needs the same number on every rank: we sum once."""
        trainer = self.attached_trainer()
        wrapper = trainer.strategy.model if trainer else None
        return wrapper.no_sync() if isinstance(wrapper, torch.nn.parallel.DistributedDataParallel) else nullcontext()

    def _sum_gradients_over_ranks(self) -> None:
        if not self._distributed():
            return
        for p in self.policy.parameters():
            if p.requires_grad:
                if p.grad is None:
                    p.grad = torch.zeros_like(p)
                torch.distributed.all_reduce(p.grad)

    # --- logging --------------------------------------------------------------------------------
    def log_step(self, episodes: list[Episode], stats: LossStats, loss: float, tokens: int, zero_var: float, rollout_s: float, update_s: float) -> None:
        scored = [e for e in episodes if e.trainable]
        rewards = torch.tensor([e.reward for e in scored]) if scored else torch.zeros(1)
        values = {
            "train/reward": float(rewards.mean()),
            "train/reward_std": float(rewards.std()) if len(scored) > 1 else 0.0,
            "train/loss": loss,
            "train/zero_variance_groups": zero_var,
            "train/doctor_tokens": float(tokens),
            "train/tokens": float(sum(len(e.token_ids) for e in episodes)),
            "time/rollout_s": rollout_s,
            "time/update_s": update_s,
            **{f"train/{k}": v for k, v in stats.means().items()},
            **{f"train/{k}": v for k, v in completion_stats(episodes, self.policy.stop_ids).items()},
            **{f"reward/{name}": value for name, value in mean_parts([e.parts for e in scored if e.parts])},
            **{f"status/{s}": sum(e.status == s for e in episodes) / len(episodes) for s in STATUSES},
        }
        values |= self.env_counters()
        metrics = self.stage_metrics("train")
        metrics.reset()
        metrics.update_from(episodes, self.rollout_config.show_options)
        values |= metrics.results("train/")
        # each rank's loss and token counts are its share of the whole batch's: sum them
        shares = {k: values.pop(k) for k in ("train/loss", "train/doctor_tokens", "train/tokens")}
        self.log_dict(shares, on_step=True, batch_size=len(episodes), sync_dist=True, reduce_fx="sum")
        self.log_dict(values, on_step=True, batch_size=len(episodes), sync_dist=True)
        self.log_dict({"reward": values["train/reward"], "acc": values.get("train/accuracy", 0.0)}, prog_bar=True, logger=False, batch_size=len(episodes))

    def env_counters(self) -> dict[str, float]:
        """Patient and judge usage and failures: this step's (env/*) and the run's (env_total/*)."""
        totals: dict[str, float] = {}
        for name, part in (("patient", self.rollouts.patient), ("judge", self.rollouts.judge)):
            counters = {k: v for k, v in asdict(part.stats).items() if k != "extra"} | part.stats.extra
            totals |= {f"{name}_{k}": float(v) for k, v in counters.items()}
        totals["leaks"] = totals["patient_leaks"] + totals["judge_leaks"]  # one env/leaks for both components
        step = {f"env/{k}": v - self._env_seen.get(k, 0.0) for k, v in totals.items()}
        self._env_seen = totals
        return step | {f"env_total/{k}": v for k, v in totals.items()}

    # --- evaluation ---------------------------------------------------------------------------
    def validation_step(self, batch: list[Case], batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch: list[Case], batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def eval_episodes(self, batch: list[Case], turns: int | None = None) -> list[Episode]:
        """`eval_samples` scored episodes per case (consecutive), at the evaluation temperature,
        seeded by the case alone so that every run and every rank sees the same patient; with
        `turns`, under that turn budget (the same seeds: each budget's episode pairs with the
        full one)."""
        seeds = [stable_seed(self.seed, case.id) for case in batch]
        torch.manual_seed(stable_seed(self.seed, "eval", *seeds))  # the same cases sample alike in every run
        config = self.rollout_config
        episodes = self.rollouts.run(batch, seeds, config.eval_samples, config.eval_temperature, evaluation=True, turns=turns)
        self.score(episodes)
        return episodes

    def turn_budgets(self) -> list[int]:
        """The budgets this evaluation rolls out again: 1 always (accuracy_open), 2..max_turns
        as `eval_turn_budgets` says. A full budget that the main rollout already forces is
        not rolled out twice."""
        extra = self.eval_turn_budgets == "always" or (self.eval_turn_budgets == "validate_test" and not self.in_fit())
        budgets = range(1, self.rollout_config.max_turns + 1) if extra else [1]
        return [b for b in budgets if not (b == self.rollout_config.max_turns and self.rollout_config.force_final_diagnosis)]

    def _evaluate(self, batch: list[Case], stage: str) -> None:
        episodes = self.eval_episodes(batch)
        budgets = {b: self.eval_episodes(batch, turns=b) for b in self.turn_budgets()}
        if self.rollout_config.force_final_diagnosis:
            budgets[self.rollout_config.max_turns] = episodes  # the main rollout is this budget
        metrics, mc = self.stage_metrics(stage), self.rollout_config.show_options
        metrics.update_from(episodes, mc, budgets)
        self._eval_records[stage] += eval_records(episodes, self.rollout_config.eval_samples, metrics.top_k, mc, budgets)
        self.last_episodes = episodes

    def eval_progress(self, stage: str) -> dict[str, float]:
        """Running accuracy and reward of this rank's share so far, for the progress bar."""
        scored = [r for r in self._eval_records[stage] if r["values"]["accuracy"] is not None]
        if not scored:
            return {}
        return {"acc": sum(r["values"]["accuracy"] for r in scored) / len(scored), "reward": sum(r["reward"] for r in scored) / len(scored)}

    def predict_step(self, batch: list[Case], batch_idx: int) -> list[dict[str, Any]]:
        """The evaluation episodes as transcript records (`results.episode_record`, the one record
        of an episode), each with its conversation as Markdown under "transcript"."""
        episodes = self.eval_episodes(batch)
        top_k, mc = self.stage_metrics("test").top_k, self.rollout_config.show_options
        records = eval_records(episodes, self.rollout_config.eval_samples, top_k, mc)
        return [{**record, "transcript": e.transcript()} for record, e in zip(records, episodes)]

    def on_validation_epoch_start(self) -> None:
        self._eval_records["val"] = []

    def on_test_epoch_start(self) -> None:
        self._eval_records["test"] = []

    def on_validation_epoch_end(self) -> None:
        self._finish_eval("val")

    def on_test_epoch_end(self) -> None:
        self._finish_eval("test")

    def _finish_eval(self, stage: str) -> None:
        """Metrics summed over ranks (torchmetrics), every rank's records gathered, both kept
        as `last_evaluation` for the ResultsWriter; the metrics also go to the logger."""
        metrics = self.stage_metrics(stage)
        results = metrics.results()
        # `validate` (fit's before among them) runs in inference mode and fit's own validation
        # under no_grad: reset states made in inference mode could not be updated in place later
        with torch.inference_mode(False):
            metrics.reset()
        records = gather(self._eval_records[stage])
        self.last_evaluation = Evaluation(stage, self.evaluation_name(stage), results, records)
        warning = truncation_warning(stage, results)
        if warning:
            rank_zero_warn(warning)
        if results:
            # equal on every rank already; sync_dist only tells Lightning so
            self.log_dict({f"{stage}/{k}": v for k, v in results.items()}, sync_dist=True)

    def in_fit(self) -> bool:
        """Running inside `fit`: its validations, and the "before" the CLI runs just ahead of it."""
        trainer = self.attached_trainer()
        return self.before_fit or (trainer is not None and trainer.state.fn == "fit")

    def evaluation_name(self, stage: str) -> str:
        """`test`, `val` (the validate command), or `val_step_000100` for fit's validation at that
        optimizer step; `val_step_000000` is the run's "before"."""
        return f"{stage}_step_{self.global_step:06d}" if stage == "val" and self.in_fit() else stage

    # --- checkpoints: trainable weights only ---------------------------------------------------
    def _trainable_names(self) -> set[str]:
        return {name for name, p in self.named_parameters() if p.requires_grad}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        trainable = self._trainable_names()
        checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if k in trainable}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        missing = sorted(self._trainable_names() - set(checkpoint["state_dict"]))
        if missing:
            raise ValueError(
                f"checkpoint lacks {len(missing)} trainable tensors of this model (first: {missing[0]}): was it made with another policy or LoRA config?"
            )
