"""Diagnostic metrics over episodes, as torchmetrics so they sync across ranks.

accuracy (@1), accuracy@k (the truth within the diagnosis plus the first k-1 differential
items), mean credit, mean turns, format rate, diagnosed rate, and multiple-choice accuracy for
cases whose options were shown.
"""

from __future__ import annotations

import torch
from torchmetrics import MeanMetric, Metric, MetricCollection

from grpodx.rollout import Episode


class DiagnosticMetrics(MetricCollection):
    """Mean metrics fed from finished, scored episodes; env_error and truncated episodes are excluded.

    The format rate is the rubric's format part (`RewardParts.format`), not a second rule."""

    def __init__(self, top_k: tuple[int, ...] = (3, 5)) -> None:
        names = ["accuracy", *(f"accuracy@{k}" for k in top_k), "credit", "turns", "format", "diagnosed", "mc_accuracy"]
        super().__init__({name: MeanMetric() for name in names})
        self.top_k = top_k

    def update_from(self, episodes: list[Episode], multiple_choice: bool = False) -> None:
        scored = [e for e in episodes if e.trainable]
        if not scored:
            return
        formats = [e.parts.format for e in scored if e.parts is not None]
        if len(formats) < len(scored):
            raise ValueError("metrics need scored episodes: score them (DoctorGRPO.score) first")
        rank = [e.verdict.rank if e.verdict and e.verdict.rank else None for e in scored]
        values: dict[str, list[float]] = {
            "accuracy": [float(bool(e.verdict and e.verdict.correct)) for e in scored],
            "credit": [e.verdict.credit if e.verdict else 0.0 for e in scored],
            "turns": [float(e.turns) for e in scored],
            "format": formats,
            "diagnosed": [float(e.status == "diagnosed") for e in scored],
        }
        for k in self.top_k:
            values[f"accuracy@{k}"] = [float(r is not None and r <= k) for r in rank]
        if multiple_choice:
            mc = [float(bool(e.verdict and e.verdict.correct)) for e in scored if e.case.options]
            if mc:
                values["mc_accuracy"] = mc
        for name, series in values.items():
            metric: Metric = self[name]
            metric.update(torch.tensor(series, dtype=torch.float32))

    def results(self, prefix: str = "") -> dict[str, float]:
        """Computed means, leaving out metrics that saw no data (e.g. mc_accuracy without options)."""
        return {f"{prefix}{name}": float(metric.compute()) for name, metric in self.items() if metric.update_called}
