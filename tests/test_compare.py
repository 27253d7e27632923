"""Two evaluations compared pair by pair (grpodx.tools.compare), as fit's before/after line and
scripts/learn_summary.py print them."""

from pathlib import Path

import pytest

from grpodx.tools.compare import compare
from grpodx.tools.runs import Evaluation


def evaluation(rows, stage="test"):
    """rows: (case, correct, accuracy_open, key_fact_recall) per episode."""
    records = [
        {
            "case": c,
            "sample": 0,
            "correct": ok,
            "status": "diagnosed",
            "values": {"accuracy_open": float(op), "asking_gain": float(ok) - float(op), "key_fact_recall": kr},
        }
        for c, ok, op, kr in rows
    ]
    return Evaluation(Path("run"), stage, {}, records)


def test_accuracy_pairs_the_same_patients_and_counts_the_discordant_ones():
    # 10 shared patients: 7 wrong -> right, 1 right -> wrong, 2 unchanged; one patient only before
    before = evaluation([(f"c{i}", i == 0 or i == 9, 0, 0.0) for i in range(10)] + [("only-before", True, 1, 1.0)])
    after = evaluation([(f"c{i}", i != 0, 0, 0.5) for i in range(10)])
    accuracy, gain, recall = compare(before, after)
    assert accuracy.figure == "accuracy" and accuracy.pairs == 10
    assert (accuracy.before, accuracy.after) == (0.2, 0.9)
    # McNemar exact, b=1 lost, c=8 gained: 2 * P(X <= 1), X ~ Bin(9, 1/2) = 2 * 10/512
    assert accuracy.p == pytest.approx(20 / 512) and "8 gained, 1 lost" in accuracy.test
    # asking_gain = correct - accuracy_open per episode (open all wrong here): the accuracy figures
    assert (gain.before, gain.after) == (0.2, 0.9) and gain.test == "paired bootstrap" and gain.p < 0.05
    assert (recall.before, recall.after, recall.pairs) == (0.0, 0.5, 10)
    assert "accuracy 0.200 -> 0.900 (+0.700" in accuracy.line()


def test_a_figure_an_evaluation_lacks_is_left_out_and_failures_are_wrong():
    before = evaluation([("a", True, 1, None), ("b", False, 0, None)])
    after = evaluation([("a", True, 1, None), ("b", True, 0, None)])
    after.records[1]["status"] = "truncated"  # judged right but cut off: not solved
    figures = {c.figure: c for c in compare(before, after)}
    assert set(figures) == {"accuracy", "asking_gain"}  # no key facts on either side
    assert figures["accuracy"].after == 0.5 and figures["accuracy"].p == 1.0
