"""Diagnostic metrics over episodes, as torchmetrics so they sum across DDP ranks.

Each episode's values come from one function, `episode_values`, which the metrics, the
transcripts and the bootstrap intervals all read, so a figure means the same thing everywhere:

- accuracy (@1: the judge says correct), accuracy@k (the truth within the diagnosis plus the
  first k-1 differential items), credit, format (the rubric's `RewardParts.format`, not a second
  rule), diagnosed, turns: over *counted* episodes: scored ones (diagnosed or out of turns) and
  truncated ones, which ran out of context before a diagnosis and so count as not diagnosed
  (accuracy, credit and format 0): leaving them out made a model that rambles past
  `max_seq_len` look as accurate as the few episodes it finished. Patient or judge failures
  are left out.
- turns_to_diagnosis: over diagnosed episodes.
- leak (the patient's words had to be redacted), truncated and env_error: over every episode;
  an evaluation more than `TRUNCATED_WARN_FRACTION` truncated warns (`truncation_warning`).
- mc_accuracy: over scored multiple-choice cases whose options were shown.
- pass@n (n samples per case > 1): share of cases with at least one correct sample.
- by_system/<body system>/{accuracy,credit,n}: scored episodes by the case's body system.

What asking bought (`grpodx.run.inquiry`; docs/metrics.md), over every episode, a truncated
or failed one counting as not solved:
- accuracy_open: the same case and seed with the doctor made to diagnose at its first turn
  (the evaluation's turn budget 1); asking_gain: solved - solved at budget 1, per episode.
- accuracy_by_turns/<b>: solved with b turns, the last a forced diagnosis (evaluations only).
- key_fact_recall: share of the case's key facts revealed; cases without key facts are absent.
- question_yield: share of questions answered from the case (episodes that asked).
- repeated_questions: questions per episode that repeat an earlier one's content words.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict

import torch
from torchmetrics import MeanMetric, Metric, MetricCollection

from grpodx.cases.schema import BODY_SYSTEMS
from grpodx.env.base import REDACTED
from grpodx.run.inquiry import key_fact_recall, question_yield, repeated_questions, solved
from grpodx.tools.stats import BY_TURNS
from grpodx.types import Episode

INQUIRY = ("accuracy_open", "asking_gain", "key_fact_recall", "question_yield", "repeated_questions")
PER_EPISODE = ("accuracy", "credit", "turns", "format", "diagnosed", "turns_to_diagnosis", "leak", "truncated", "env_error", "mc_accuracy", *INQUIRY)
TRUNCATED_WARN_FRACTION = 0.1
"""Above this share of truncated episodes an evaluation warns: its figures measure the context
limit (`model.policy.max_seq_len`) more than the doctor."""


def episode_values(
    e: Episode, top_k: tuple[int, ...] = (3, 5), multiple_choice: bool = False, budgets: dict[int, Episode] | None = None
) -> dict[str, float | None]:
    """Every metric's value for one episode; None where the episode does not count. `budgets`
    are the same case's episodes under each evaluated turn budget (1 gives accuracy_open)."""
    scored = e.trainable
    counted = scored or e.status == "truncated"  # truncated: counted, as not diagnosed
    verdict = e.verdict if scored else None
    rank = verdict.rank if verdict and verdict.rank else None
    correct = float(bool(verdict and verdict.correct))
    values: dict[str, float | None] = {
        "accuracy": correct if counted else None,
        "credit": (verdict.credit if verdict else 0.0) if counted else None,
        "turns": float(e.turns) if counted else None,
        "format": (_format_part(e) if scored else 0.0) if counted else None,
        "diagnosed": float(e.status == "diagnosed") if counted else None,
        "turns_to_diagnosis": float(e.turns) if e.status == "diagnosed" else None,
        "leak": float(any(REDACTED in m["content"] for m in e.dialogue if m["role"] == "patient")),
        "truncated": float(e.status == "truncated"),
        "env_error": float(e.status == "env_error"),
        "mc_accuracy": correct if counted and multiple_choice and e.case.options else None,
    }
    for k in top_k:
        values[f"accuracy@{k}"] = float(rank is not None and rank <= k) if counted else None
    return values | inquiry_values(e, budgets or {})


def inquiry_values(e: Episode, budgets: dict[int, Episode]) -> dict[str, float | None]:
    """What asking bought in one episode; `budgets[b]` is the paired episode with b turns."""
    opened = budgets.get(1)
    values: dict[str, float | None] = {
        "accuracy_open": solved(opened) if opened else None,
        "asking_gain": solved(e) - solved(opened) if opened else None,
        "key_fact_recall": key_fact_recall(e.case, e.dialogue),
        "question_yield": question_yield(e),
        "repeated_questions": float(repeated_questions(e)),
    }
    return values | {f"{BY_TURNS}{b}": solved(other) for b, other in sorted(budgets.items())}


def truncation_warning(stage: str, results: dict[str, float]) -> str | None:
    """A warning when more than `TRUNCATED_WARN_FRACTION` of an evaluation's episodes truncated."""
    share = results.get("truncated", 0.0)
    if share <= TRUNCATED_WARN_FRACTION:
        return None
    return (
        f"{stage}: {share:.0%} of episodes ran out of context (model.policy.max_seq_len) before a diagnosis; "
        f"they count as not diagnosed, so this evaluation measures the context limit: raise max_seq_len or lower max_turns"
    )


def _format_part(e: Episode) -> float:
    if e.parts is None:
        raise ValueError(f"episode of case {e.case.id!r} ({e.status}) was not scored: score episodes (DoctorGRPO.score) before reading their metrics")
    return e.parts.format


def paired_budgets(episodes: list[Episode], budgets: dict[int, list[Episode]]) -> list[dict[int, Episode]]:
    """Per episode, its counterpart under each turn budget (the same case, seed and sample)."""
    for b, runs in budgets.items():
        if len(runs) != len(episodes) or any(r.case.id != e.case.id for r, e in zip(runs, episodes)):
            raise ValueError(f"turn budget {b}: its {len(runs)} episodes do not pair one to one, case by case, with the {len(episodes)} evaluated")
    return [{b: runs[i] for b, runs in budgets.items()} for i in range(len(episodes))]


def system_index(body_system: str) -> int:
    return BODY_SYSTEMS.index(body_system) if body_system in BODY_SYSTEMS else BODY_SYSTEMS.index("other")


class BySystem(Metric):
    """Accuracy and credit per body system: fixed-size sums, so ranks add them up."""

    full_state_update = False
    count: torch.Tensor  # [systems] episodes
    correct: torch.Tensor  # [systems] correct episodes
    credit: torch.Tensor  # [systems] summed credit

    def __init__(self) -> None:
        super().__init__()
        for name in ("count", "correct", "credit"):
            self.add_state(name, default=torch.zeros(len(BODY_SYSTEMS), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, systems: torch.Tensor, correct: torch.Tensor, credit: torch.Tensor) -> None:
        self.count.index_add_(0, systems, torch.ones_like(credit, dtype=torch.float64))
        self.correct.index_add_(0, systems, correct.to(torch.float64))
        self.credit.index_add_(0, systems, credit.to(torch.float64))

    def compute(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for i, system in enumerate(BODY_SYSTEMS):
            n = float(self.count[i])
            if n:
                out |= {
                    f"by_system/{system}/accuracy": float(self.correct[i]) / n,
                    f"by_system/{system}/credit": float(self.credit[i]) / n,
                    f"by_system/{system}/n": n,
                }
        return out


class ByTurnBudget(Metric):
    """Accuracy at each turn budget 1..max_turns: fixed-size sums, so ranks add them up."""

    full_state_update = False
    count: torch.Tensor  # [max_turns] episodes evaluated at budget b (index b - 1)
    correct: torch.Tensor  # [max_turns] of them solved

    def __init__(self, max_turns: int) -> None:
        super().__init__()
        for name in ("count", "correct"):
            self.add_state(name, default=torch.zeros(max_turns, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, budgets: torch.Tensor, correct: torch.Tensor) -> None:
        self.count.index_add_(0, budgets - 1, torch.ones_like(correct, dtype=torch.float64))
        self.correct.index_add_(0, budgets - 1, correct.to(torch.float64))

    def compute(self) -> dict[str, float]:
        return {f"{BY_TURNS}{b + 1}": float(self.correct[b] / self.count[b]) for b in range(len(self.count)) if self.count[b]}


class DiagnosticMetrics(MetricCollection):
    """Mean metrics fed from finished episodes (see the module docstring for what counts where)."""

    def __init__(self, top_k: tuple[int, ...] = (3, 5), samples: int = 1, max_turns: int = 5) -> None:
        means = [*PER_EPISODE, *(f"accuracy@{k}" for k in top_k)]
        names = means + ([f"pass@{samples}"] if samples > 1 else [])
        metrics: dict[str, Metric | MetricCollection] = {name: MeanMetric() for name in names}
        super().__init__(metrics | {"by_system": BySystem(), "by_turns": ByTurnBudget(max_turns)}, compute_groups=False)
        self.top_k, self.samples, self.max_turns = top_k, samples, max_turns
        self.means = means
        """The metrics that average one value per episode."""

    def update_from(self, episodes: list[Episode], multiple_choice: bool = False, budgets: dict[int, list[Episode]] | None = None) -> None:
        """`budgets[b]` holds the same episodes rolled out again with b turns, in the same order."""
        paired = paired_budgets(episodes, budgets or {})
        values = [episode_values(e, self.top_k, multiple_choice, p) for e, p in zip(episodes, paired)]
        for name in self.means:
            series = [v[name] for v in values if v[name] is not None]
            if series:
                metric: Metric = self[name]
                metric.update(torch.tensor(series, dtype=torch.float64))
        self._update_systems(episodes, values)
        self._update_budgets(values)
        if self.samples > 1:
            self._update_pass(episodes, values)

    def _update_systems(self, episodes: list[Episode], values: list[dict[str, float | None]]) -> None:
        scored = [(e, v) for e, v in zip(episodes, values) if v["accuracy"] is not None]
        if scored:
            systems = torch.tensor([system_index(e.case.body_system) for e, _ in scored])
            self["by_system"].update(systems, torch.tensor([v["accuracy"] for _, v in scored]), torch.tensor([v["credit"] for _, v in scored]))

    def _update_budgets(self, values: list[dict[str, float | None]]) -> None:
        pairs = [(int(k[len(BY_TURNS) :]), x) for v in values for k, x in v.items() if k.startswith(BY_TURNS) and x is not None]
        for b, _ in pairs:
            if not 1 <= b <= self.max_turns:
                raise ValueError(f"turn budget {b} is outside 1..max_turns={self.max_turns} of these metrics")
        if pairs:
            self["by_turns"].update(torch.tensor([b for b, _ in pairs]), torch.tensor([x for _, x in pairs]))

    def _update_pass(self, episodes: list[Episode], values: list[dict[str, float | None]]) -> None:
        """A case passes when any of its scored samples is correct; episode.group is its case."""
        by_case: dict[int, list[float]] = defaultdict(list)
        for e, v in zip(episodes, values):
            if v["accuracy"] is not None:
                by_case[e.group].append(v["accuracy"])
        if by_case:
            self[f"pass@{self.samples}"].update(torch.tensor([max(a) for a in by_case.values()], dtype=torch.float64))

    def results(self, prefix: str = "") -> dict[str, float]:
        """Computed means, leaving out metrics that saw no data on any rank (e.g. mc_accuracy
        without options). Every metric is computed on every rank, data or not: computing syncs
        across ranks, and a rank that skipped one would leave the others waiting."""
        out: dict[str, float] = {}
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*was called before the ``update`` method.*")
            for name, metric in self.items(keep_base=True, copy_state=False):
                value = metric.compute()
                items = value.items() if isinstance(value, dict) else [(name, value)]
                out |= {f"{prefix}{k}": float(v) for k, v in items if not math.isnan(float(v))}
        return out


def completion_stats(episodes: list[Episode], stop_ids: list[int]) -> dict[str, float]:
    """TRL's completion figures for multi-turn episodes: an episode's completion is all its doctor
    tokens (mean_length, max_length over episodes); a doctor turn is clipped when it ended at
    `rollout.max_new_tokens` without a stop token (clipped_ratio over turns: the per-turn limit is
    the analogue of TRL's max_completion_length).

    >>> e = Episode(case=None, group=0, seed=0, messages=[], token_ids=[1, 5, 9, 2, 6, 6], doctor_mask=[0, 1, 1, 0, 1, 1])
    >>> completion_stats([e], stop_ids=[9])
    {'completions/mean_length': 4.0, 'completions/max_length': 4.0, 'completions/clipped_ratio': 0.5}
    """
    lengths, turns, clipped = [], 0, 0
    for e in episodes:
        lengths.append(float(sum(e.doctor_mask)))
        for last in _doctor_turn_ends(e.doctor_mask):
            turns += 1
            clipped += e.token_ids[last] not in stop_ids
    if not lengths:
        return {}
    return {
        "completions/mean_length": sum(lengths) / len(lengths),
        "completions/max_length": max(lengths),
        "completions/clipped_ratio": clipped / turns if turns else 0.0,
    }


def _doctor_turn_ends(mask: list[int]) -> list[int]:
    """Index of the last token of each run of doctor tokens (one run per doctor turn)."""
    return [i for i, m in enumerate(mask) if m and (i + 1 == len(mask) or not mask[i + 1])]
