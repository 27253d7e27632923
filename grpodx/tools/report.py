"""`python -m grpodx report RUN [--label NAME] [--compare OTHER_RUN [--compare-label NAME]] [--out FILE]`: one self-contained HTML page.

1. Read the run: its TensorBoard scalars, results/*.json and transcripts/*.jsonl.
2. Pick "before" and "after": with --compare, OTHER_RUN's evaluation of the same stage (test,
   else its latest) against RUN's; without it, the run's first validation (step 0, the
   "before" that fit takes) against its last; a run with one evaluation is shown alone.
3. Pair them on the cases both evaluated, then draw the page (grpodx.tools.report_page).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from grpodx.tools.runs import before_after, curves_of, load_run


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m grpodx report", description="Write one self-contained HTML report of a run.")
    parser.add_argument("run", type=Path, help="a run folder (lightning_logs/version_N) or a folder of runs (the newest is used)")
    parser.add_argument("--compare", type=Path, help="another run (e.g. the base model's test) to compare with, on the same cases")
    parser.add_argument("--label", default="", help="RUN's name in legends and headings (default: its folder's name)")
    parser.add_argument("--compare-label", default="", help="the --compare run's name (default: its folder's name)")
    parser.add_argument("--out", type=Path, help="where to write the page (default: RUN/report.html)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap intervals and test")
    parser.add_argument("--curves", type=Path, help="draw the training curves of this run (the fit that made the evaluated adapter)")
    args = parser.parse_args(argv)
    try:
        run = load_run(args.run, args.label)
        other = load_run(args.compare, args.compare_label) if args.compare else None
        if args.curves:
            run.curves = curves_of(args.curves)
    except (FileNotFoundError, ValueError) as error:
        print(f"report: {error}")
        return 2
    from grpodx.tools.report_page import render

    out = args.out or run.path / "report.html"
    before, after = before_after(run, other)
    if before is not None:
        before.role, after.role = "before", "after"
    out.write_text(render(run, before, after, args.seed))
    print(f"report: wrote {out}")
    return 0
