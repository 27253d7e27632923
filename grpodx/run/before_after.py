"""`BeforeAfter`: at the end of `fit`, print the run's first and last validation on the same
held-out patients side by side, with p-values (configs/cpu.yaml ends with this line).

The first validation is `validate_before_fit`'s, taken after any warm-up (`WarmUp` runs when fit
starts), so the line is what GRPO itself changed. Both are read back from the run's
results/ and transcripts/ files, as `grpodx report` reads them.
"""

from __future__ import annotations

import lightning as L
from lightning.pytorch.utilities import rank_zero_info

from grpodx.run.callbacks import run_dir
from grpodx.tools.compare import compare
from grpodx.tools.runs import load_run


class BeforeAfter(L.Callback):
    """Prints accuracy, asking_gain and key_fact_recall before and after training, with p."""

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        folder = run_dir(trainer)  # on every rank: finding the folder is a broadcast
        if not trainer.is_global_zero:
            return
        rank_zero_info(before_after_text(folder))


def before_after_text(folder) -> str:
    """The before/after lines of the fit run in `folder`, or why there are none."""
    steps = sorted(p.stem for p in (folder / "results").glob("val_step_*.json")) if (folder / "results").is_dir() else []
    if len(steps) < 2:
        return f"before/after: {folder} has {len(steps)} validation(s); set model.validate_before_fit and a val_check_interval the run reaches"
    run = load_run(folder)
    before, after = run.evaluations[steps[0]], run.evaluations[steps[-1]]
    changes = compare(before, after)
    head = f"before/after on {changes[0].pairs if changes else 0} held-out patients ({steps[0]} -> {steps[-1]}):"
    return "\n".join([head, *(f"  {c.line()}" for c in changes)])
