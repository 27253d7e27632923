"""Print the table of a scripts/learn.sh or scripts/learn_inquiry.sh run: each test evaluation
with 95% intervals, each compared with the base model on the same cases (McNemar's exact test on
accuracy, a paired bootstrap on credit), and the lenient score (the right disease named
anywhere in the doctor's last turn), so format gains are not sold as medicine. Then the paired
comparisons of each stage with the one before it (GRPO against warm-up is GRPO's own gain):
accuracy (McNemar), asking_gain and key_fact_recall (paired bootstrap), on the same patients.

    python scripts/learn_summary.py runs/learn
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's grpodx

STAGES = (
    ("base", "base"),
    ("warm", "after warm-up"),
    ("trained", "after GRPO"),
    ("unseen_base", "unseen dx: base"),
    ("unseen_trained", "unseen dx: after GRPO"),
)
FIGURES = ("accuracy", "accuracy@3", "credit", "format", "diagnosed", "turns_to_diagnosis")
INQUIRY = ("accuracy_open", "asking_gain", "key_fact_recall", "question_yield", "repeated_questions")
"""Shown when the evaluations measured them (inquiry cases, grpodx.run.inquiry)."""
COMPARISONS = (("warm", "base"), ("trained", "warm"), ("trained", "base"), ("unseen_trained", "unseen_base"))
"""(after, before) stage pairs of the paired comparisons."""


def lenient(record: dict) -> float:
    """1 when the truth or one of its aliases appears anywhere in the doctor's last message."""
    from grpodx.cases.bank import builtin_templates

    names = {t.diagnosis: (t.diagnosis, *t.aliases) for t in builtin_templates()}.get(record["truth"], (record["truth"],))
    last = next((m["content"] for m in reversed(record["messages"]) if m["role"] == "assistant"), "").lower()
    return float(any(re.search(rf"\b{re.escape(n.lower())}\b", last) for n in names))  # whole words: "MI" is not in "mind"


def _cell(result: dict, name: str) -> str:
    interval = result["intervals"].get(name)
    if interval is None:
        return "–"
    return f"{interval['value']:.2f} [{interval['low']:.2f}, {interval['high']:.2f}]"


def main(argv: list[str]) -> int:
    from grpodx.tools.runs import load_run, paired
    from grpodx.tools.stats import mcnemar_exact, paired_bootstrap_p

    root = Path(argv[0] if argv else "runs/learn")
    evaluations = {}
    for folder, label in STAGES:
        if (root / folder).exists():
            evaluations[folder] = (label, load_run(root / folder).main())
    measured = [f for f in INQUIRY if any(f in ev.result["intervals"] for _, ev in evaluations.values())]
    budgets = sorted({k for _, ev in evaluations.values() for k in ev.result["intervals"] if k.startswith("accuracy_by_turns/")})
    figures = (*FIGURES, *measured, *budgets)
    print(f"| {' | '.join(['model', 'n', *figures, 'lenient', 'p(acc) vs base', 'p(credit) vs base'])} |")
    print("|" + "---|" * (len(figures) + 5))
    for folder, (label, ev) in evaluations.items():
        base = evaluations.get("unseen_base" if folder.startswith("unseen") else "base")
        p_acc = p_credit = "–"
        if base and base[1] is not ev:
            before, after = paired(base[1], ev)
            b = sum(x["correct"] and not y["correct"] for x, y in zip(before, after))
            c = sum(y["correct"] and not x["correct"] for x, y in zip(before, after))
            p_acc = f"{mcnemar_exact(b, c):.3g} ({b}→{c})"
            p_credit = f"{paired_bootstrap_p([x['credit'] for x in before], [y['credit'] for y in after], seed=0):.3g}"
        loose = sum(lenient(r) for r in ev.records) / max(len(ev.records), 1)
        cells = [_cell(ev.result, f) for f in figures]
        print(f"| {' | '.join([label, str(len(ev.records)), *cells, f'{loose:.2f}', p_acc, p_credit])} |")
    print_comparisons({folder: ev for folder, (_, ev) in evaluations.items()})
    if "warm" in evaluations:
        print_arms(root, evaluations["warm"][1], evaluations.get("trained", (None, None))[1])
    if "warm" in evaluations and "trained" in evaluations:
        print_examples(evaluations["warm"][1], evaluations["trained"][1])
    return 0


def print_examples(warm, trained, count: int = 2) -> None:
    """The patients where GRPO's doctor found more key facts and was right where the warmed-up
    doctor was not: both conversations, the questions side by side (real transcripts)."""
    from grpodx.tools.runs import paired

    before, after = paired(warm, trained)
    found = lambda r: r["values"].get("key_fact_recall") or 0.0  # noqa: E731
    better = [(x, y) for x, y in zip(before, after) if y["correct"] and not x["correct"] and found(y) > found(x)]
    print(f"\n{len(better)} held-out patients: right only after GRPO, with more key facts found; the first {min(count, len(better))}:")
    for x, y in better[:count]:
        print(f"\n### {y['case']} ({y['truth']})")
        for label, record in (("after warm-up", x), ("after GRPO", y)):
            print(f"{label} (key_fact_recall {found(record):.2f}, said {record['diagnosis']!r}):")
            for message in record["dialogue"]:
                print(f"  {message['role']}: {message['content']}")


def zero_variance_share(fit: Path) -> str:
    """The mean share of zero-variance groups over a fit's GRPO steps (train/zero_variance_groups)."""
    from grpodx.tools.runs import curves_of

    points = curves_of(fit).get("train/zero_variance_groups", [])
    return f"{sum(v for _, v in points) / len(points):.2f} ({len(points)} steps)" if points else "–"


def print_arms(root: Path, warm, trained) -> None:
    """The main line and each ablation arm (scripts/ablate_inquiry.sh: RUN/arms/NAME), each after
    GRPO against the shared warm-up on the same held-out patients, with its zero-variance share."""
    from grpodx.tools.compare import compare
    from grpodx.tools.runs import load_run

    arms = [("main (RUN/fit: the recipe in its config.yaml)", trained, root / "fit")] if trained is not None else []
    for arm in sorted((root / "arms").glob("*/trained")):
        options = (arm.parent / "options.txt").read_text().split() if (arm.parent / "options.txt").exists() else []
        arms.append((f"{arm.parent.name} ({' '.join(options)})", load_run(arm).main(), arm.parent / "fit"))
    if not arms:
        return
    print("\n| arm | n | accuracy | asking_gain | key_fact_recall | vs after warm-up | zero-variance groups |")
    print("|---|---|---|---|---|---|---|")
    for label, ev, fit in arms:
        changes = {c.figure: c for c in compare(warm, ev)}
        versus = "; ".join(f"{c.figure} {c.after - c.before:+.3f} (p={c.p:.3g})" for c in changes.values())
        cells = [_cell(ev.result, f) for f in ("accuracy", "asking_gain", "key_fact_recall")]
        print(f"| {' | '.join([label, str(len(ev.records)), *cells, versus, zero_variance_share(fit)])} |")


def print_comparisons(evaluations: dict) -> None:
    """Each stage against the one before it, pair by pair on the same patients."""
    from grpodx.tools.compare import compare

    labels = dict(STAGES)
    for after, before in COMPARISONS:
        if after in evaluations and before in evaluations:
            print(f"\n{labels[after]} vs {labels[before]}:")
            for change in compare(evaluations[before], evaluations[after]):
                print(f"  {change.line()}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
