"""The report's HTML: sections as small functions, matplotlib figures inlined as PNG data URIs.

Nothing on the page points outside it (no scripts, fonts or images from the network); the one
inline script only records, for tests and curious readers, that every image decoded.
"""

from __future__ import annotations

import base64
import html
import io
from collections import Counter, defaultdict
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display needed
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from grpodx.rollout.dialogue import split_reasoning  # noqa: E402
from grpodx.tools.runs import Evaluation, Run, paired  # noqa: E402
from grpodx.tools.stats import BY_TURNS, HEADLINE, asking_gain_test, intervals, mcnemar_exact, paired_bootstrap_p  # noqa: E402

CURVES = {
    "Reward": ["train/reward"],
    "Accuracy": ["train/accuracy", "val/accuracy", "val/accuracy_open"],
    "Format": ["train/format", "val/format"],
    "Reward std": ["train/reward_std"],
    "Zero-variance groups": ["train/zero_variance_groups"],
    "KL to the base model": ["train/kl"],
    "Episode length (doctor turns)": ["train/turns", "val/turns"],
}
RATES = {"Accuracy", "Format", "Zero-variance groups"}
"""Curves of shares: drawn on a fixed 0-1 axis, so a flat 0.50 does not look like a swing."""
COLUMNS = 3
STYLE = """body{font:15px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}img{max-width:100%}
.turn{margin:.3em 0}.doctor{color:#124}.patient{color:#531}details{margin:.2em 0 .2em 1.5em;color:#555}
.case{border:1px solid #ddd;border-radius:6px;padding:.5em 1em;margin:1em 0}.ok{color:#060}.bad{color:#a00}"""
CHECK = """<script>
addEventListener('load', () => {
  const images = [...document.images];
  const rows = [...document.querySelectorAll('table tbody tr')];
  const check = document.getElementById('render-check');
  check.dataset.images = images.length;
  check.dataset.decoded = images.filter(i => i.complete && i.naturalWidth > 0).length;
  check.dataset.tables = document.querySelectorAll('table').length;
  check.dataset.rows = rows.length;
});
</script>"""


def esc(value: Any) -> str:
    return html.escape(str(value))


def png(fig: plt.Figure, alt: str) -> str:
    """The figure as an inline PNG; `alt` says what it shows, for screen readers and broken images."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def table(head: list[str], rows: list[list[Any]]) -> str:
    cells = lambda row: "".join(f'<td class="num">{v:.3f}</td>' if isinstance(v, float) else f"<td>{v}</td>" for v in row)  # noqa: E731
    body = "".join(f"<tr>{cells(row)}</tr>" for row in rows)
    return f"<table><thead><tr>{''.join(f'<th>{esc(h)}</th>' for h in head)}</tr></thead><tbody>{body}</tbody></table>"


def curves_section(run: Run) -> str:
    drawn = curves_figure(run)
    if drawn is None:
        return "<h2>Training curves</h2><p>This run logged no training or validation curves (an evaluation-only run).</p>"
    fig, shown = drawn
    alt = "Training curves by optimizer step: " + "; ".join(f"{title} ({', '.join(tags)})" for title, tags in shown.items())
    return f"<h2>Training curves</h2>{png(fig, alt)}"


def curves_figure(run: Run) -> tuple[plt.Figure, dict[str, list[str]]] | None:
    """A grid of the run's curves, one panel per CURVES title it logged; None when it logged none."""
    shown = {title: [t for t in tags if run.curves.get(t)] for title, tags in CURVES.items()}
    shown = {title: tags for title, tags in shown.items() if tags}
    if not shown:
        return None
    rows = -(-len(shown) // COLUMNS)
    fig, axes = plt.subplots(rows, COLUMNS, figsize=(4.2 * COLUMNS, 3.2 * rows), squeeze=False, layout="constrained")
    for ax, (title, tags) in zip(axes.flat, shown.items()):
        for tag in tags:
            steps, values = zip(*run.curves[tag])
            ax.plot(steps, values, marker="o" if len(steps) < 30 else None, label=tag)
        ax.set_title(title)
        ax.set_xlabel("optimizer step")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if title in RATES:
            ax.set_ylim(-0.02, 1.02)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(shown) :]:
        ax.set_visible(False)  # no empty frames in the grid's last row
    return fig, shown


def _fmt(interval: dict[str, float] | None) -> str:
    return "–" if interval is None else f"{interval['value']:.3f} [{interval['low']:.3f}, {interval['high']:.3f}]"


def comparison_section(before: Evaluation | None, after: Evaluation, seed: int) -> str:
    if before is None:
        rows = [[esc(name), _fmt(after.result["intervals"].get(name))] for name in HEADLINE if name in after.result["intervals"]]
        return f"<h2>Results: {esc(after.label)}</h2><p>{after.result['cases']} cases; value [95% bootstrap interval over cases].</p>" + table(
            ["metric", after.label], rows
        )
    old, new = paired(before, after)
    if not new:
        return f"<h2>Before and after</h2><p class='bad'>{esc(before.label)} and {esc(after.label)} share no cases: nothing to compare.</p>"
    a, b = intervals(old, seed), intervals(new, seed)
    rows = []
    for name in HEADLINE:
        if name in a or name in b:
            change = b[name]["value"] - a[name]["value"] if name in a and name in b else None
            rows.append([esc(name), _fmt(a.get(name)), _fmt(b.get(name)), "–" if change is None else f"{change:+.3f}", _p_value(name, old, new, seed)])
    cases = len({r["case"] for r in new})
    intro = f"<p>{esc(before.label)} and {esc(after.label)} on the <b>same {cases} cases</b>; value [95% bootstrap interval over cases]. p: McNemar's exact test on accuracy, paired bootstrap on credit.</p>"
    return "<h2>Before and after</h2>" + intro + table(["metric", "before", "after", "change", "p"], rows)


def _p_value(name: str, old: list[dict[str, Any]], new: list[dict[str, Any]], seed: int) -> str:
    both = [(o["values"][name], n["values"][name]) for o, n in zip(old, new) if o["values"].get(name) is not None and n["values"].get(name) is not None]
    if name not in ("accuracy", "credit") or not both:
        return ""
    if name == "accuracy":
        lost, gained = sum(o and not n for o, n in both), sum(n and not o for o, n in both)
        return f"{mcnemar_exact(int(lost), int(gained)):.3g} (McNemar; {int(gained)} gained, {int(lost)} lost)"
    return f"{paired_bootstrap_p([o for o, _ in both], [n for _, n in both], seed):.3g} (paired bootstrap)"


def systems_section(evaluations: list[Evaluation]) -> str:
    data: dict[str, dict[str, list[float]]] = {}
    for evaluation in evaluations:
        for r in evaluation.records:
            if r["values"]["accuracy"] is not None:
                data.setdefault(r["body_system"], defaultdict(list))[evaluation.label].append(r["values"]["accuracy"])
    systems = sorted(data)
    if not systems:
        return "<h2>Accuracy by body system</h2><p>No scored episodes: every episode failed in the patient or judge, or was truncated.</p>"
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(systems) + 1.2))
    height = 0.8 / len(evaluations)
    for i, evaluation in enumerate(evaluations):
        means = [sum(data[s][evaluation.label]) / max(len(data[s][evaluation.label]), 1) for s in systems]
        bars = ax.barh([k + i * height for k in range(len(systems))], means, height=height, label=evaluation.label)
        ax.bar_label(bars, fmt="%.2f", fontsize=8, padding=2)  # a 0 would otherwise be no bar at all
    ax.set_yticks([k + height * (len(evaluations) - 1) / 2 for k in range(len(systems))], systems)
    ax.set_xlim(0, 1)
    ax.set_xlabel("accuracy")
    ax.legend(fontsize=8)
    rows = [
        [esc(s)] + [f"{sum(data[s][e.label]) / len(data[s][e.label]):.3f} (n={len(data[s][e.label])})" if data[s][e.label] else "–" for e in evaluations]
        for s in systems
    ]
    alt = f"Horizontal bars: accuracy (0 to 1) in each of {len(systems)} body systems, one bar per evaluation ({', '.join(e.label for e in evaluations)}); the table below gives the numbers"
    return "<h2>Accuracy by body system</h2>" + png(fig, alt) + table(["body system", *[e.label for e in evaluations]], rows)


def turns_section(evaluations: list[Evaluation]) -> str:
    drawn = turns_figure(evaluations)
    if drawn is None:
        return "<h2>Turns per episode</h2><p>No scored episodes to count.</p>"
    fig, turns, counts = drawn
    summary = "; ".join(f"{e.label}: " + ", ".join(f"{c[t]} with {t}" for t in turns) for e, c in zip(evaluations, counts))
    return "<h2>Turns per episode</h2>" + png(fig, f"Bar chart of scored episodes by number of doctor turns. {summary}")


def turns_figure(evaluations: list[Evaluation]) -> tuple[plt.Figure, list[int], list[Counter[int]]] | None:
    """Scored episodes by number of doctor turns: integer bars, one per evaluation side by side."""
    counts = [Counter(r["turns"] for r in e.records if r["status"] in ("diagnosed", "out_of_turns")) for e in evaluations]
    turns = sorted(set().union(*counts))
    if not turns:
        return None
    fig, ax = plt.subplots(figsize=(6, 3))
    width = 0.8 / len(evaluations)
    for i, (evaluation, count) in enumerate(zip(evaluations, counts)):
        offset = (i - (len(evaluations) - 1) / 2) * width
        ax.bar([t + offset for t in turns], [count[t] for t in turns], width=width, label=evaluation.label)
    ax.set_xticks(turns)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("doctor turns in the episode")
    ax.set_ylabel("episodes")
    ax.legend(fontsize=8)
    return fig, turns, counts


def budget_section(evaluations: list[Evaluation], seed: int) -> str:
    """Accuracy against the turn budget, one curve per evaluation (DoctorAgent-RL's dynamic
    turn budget figure), and the paired test of what asking bought."""
    figures = [(e, intervals(e.records, seed)) for e in evaluations]
    curves = [(e, sorted((int(k[len(BY_TURNS) :]), v) for k, v in found.items() if k.startswith(BY_TURNS))) for e, found in figures]
    rows = []
    for e, found in figures:
        test = asking_gain_test(e.records)
        if test is not None:
            verdict = f"{test['p']:.3g} (McNemar; {test['gained']} right only after asking, {test['lost']} only at once)"
            rows.append([esc(e.label), _fmt(found.get("accuracy_open")), _fmt(found.get("asking_gain")), verdict])
    if not rows:
        return "<h2>What asking bought</h2><p>These evaluations have no first-turn pass (results from before accuracy_open existed).</p>"
    intro = "<p>accuracy_open: the same cases with the doctor made to diagnose at its first turn; asking_gain = accuracy − accuracy_open, every episode counted (a truncated or failed one as wrong). Value [95% bootstrap interval over cases].</p>"
    out = "<h2>What asking bought</h2>" + intro + table(["evaluation", "accuracy_open", "asking_gain", "p"], rows)
    if not any(len(points) > 1 for _, points in curves):
        return (
            out
            + "<p>Accuracy by turn budget: only budget 1 was evaluated (fit's validations skip the other budgets unless model.eval_turn_budgets=always).</p>"
        )
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for e, points in curves:
        budgets = [b for b, _ in points]
        values = [v["value"] for _, v in points]
        ax.errorbar(
            budgets,
            values,
            yerr=[[v["value"] - v["low"] for _, v in points], [v["high"] - v["value"] for _, v in points]],
            marker="o",
            capsize=3,
            label=e.label,
        )
    ax.set_xlabel("turn budget (the last turn a forced diagnosis)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xticks(sorted({b for _, points in curves for b, _ in points}))
    ax.legend(fontsize=8)
    alt = "Accuracy (0 to 1) against the turn budget, one line per evaluation (" + ", ".join(e.label for e, _ in curves) + "), with 95% intervals"
    return out + "<h3>Accuracy by turn budget</h3><p>Bars: 95% bootstrap intervals over cases.</p>" + png(fig, alt)


def wrong_section(after: Evaluation, limit: int = 15) -> str:
    wrong: dict[str, Counter[str]] = defaultdict(Counter)
    totals: Counter[str] = Counter()
    for r in after.records:
        totals[r["truth"]] += 1
        if not r["correct"]:
            wrong[r["truth"]][r["diagnosis"] or f"(no diagnosis: {r['status']})"] += 1
    ranked = sorted(wrong.items(), key=lambda item: (-sum(item[1].values()), item[0]))[:limit]
    rows = [[esc(truth), f"{sum(c.values())} of {totals[truth]}", "; ".join(f"{esc(d)} ×{n}" for d, n in c.most_common(3))] for truth, c in ranked]
    head = f"<h2>Most common wrong diagnoses ({esc(after.label)})</h2>"
    return head + (table(["truth", "wrong", "said instead"], rows) if rows else "<p>No wrong diagnoses.</p>")


def transcript_html(r: dict[str, Any]) -> str:
    mark = "<span class='ok'>correct</span>" if r["correct"] else "<span class='bad'>wrong</span>"
    parts = [
        f"<div class='case'><b>{esc(r['case'])}</b> — truth: <b>{esc(r['truth'])}</b> — said: <b>{esc(r['diagnosis'] or '(nothing)')}</b> ({mark}, credit {r['credit']:.2f}, {r['turns']} turns, {esc(r['status'])})"
    ]
    for message in r["messages"][1:]:
        if message["role"] == "assistant":
            reasoning, visible, _ = split_reasoning(message["content"])
            folded = f"<details><summary>reasoning</summary>{esc(reasoning)}</details>" if reasoning else ""
            parts.append(f"<div class='turn doctor'><b>doctor:</b> {esc(visible)}{folded}</div>")
        else:
            parts.append(f"<div class='turn patient'><b>patient:</b> {esc(message['content'])}</div>")
    return "".join(parts) + "</div>"


def transcripts_section(after: Evaluation, count: int = 6) -> str:
    right = [r for r in after.records if r["correct"]][: count // 2]
    wrong = [r for r in after.records if not r["correct"]][: count - len(right)]
    return f"<h2>Sample transcripts ({esc(after.label)})</h2>" + "".join(transcript_html(r) for r in right + wrong)


def header(run: Run, after: Evaluation) -> str:
    """Title and one line on what was evaluated: no empty fields, no internals (those go to the footer)."""
    about = after.result
    what = [f"{about.get('cases')} cases", f"{about.get('samples_per_case')} sample(s) per case at temperature {about.get('temperature')}"]
    what += [f"step {about['step']}"] if about.get("step") else []
    what += [f"adapter {esc(about['adapter_path'])}"] if about.get("adapter_path") else []
    # the check script fills this in for tests; hidden, since how many images decoded is no reader's business
    check = "<span id='render-check' hidden></span>"
    return f"<h1>grpodx report: {esc(after.label)}</h1><p>{esc(run.path)}: {', '.join(what)}.</p>{check}"


def footer(after: Evaluation) -> str:
    about = after.result
    details = [f"config digest {esc(about.get('config_digest'))}"] + ([f"checkpoint {esc(about['ckpt_path'])}"] if about.get("ckpt_path") else [])
    return f"<hr><p style='color:#666;font-size:13px'>{'; '.join(details)}.</p>"


def render(run: Run, before: Evaluation | None, after: Evaluation, seed: int) -> str:
    shown = [e for e in (before, after) if e is not None]
    sections = [
        header(run, after),
        curves_section(run),
        comparison_section(before, after, seed),
        systems_section(shown),
        turns_section(shown),
        budget_section(shown, seed),
        wrong_section(after),
        transcripts_section(after),
        footer(after),
    ]
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>grpodx report: {esc(after.label)}</title><style>{STYLE}</style>{CHECK}</head><body>{''.join(sections)}</body></html>\n"
