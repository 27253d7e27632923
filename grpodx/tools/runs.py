"""Reading runs for the report and the comparisons: evaluations (results and transcripts), training
curves, and the before/after pairing on the cases both evaluated."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Evaluation:
    run: Path
    stage: str
    result: dict[str, Any]
    records: list[dict[str, Any]]
    role: str = ""
    """'before' or 'after' once chosen for a comparison."""
    name: str = ""
    """The run's name on the page (`report --label`); its folder's name by default."""

    @property
    def label(self) -> str:
        """What legends and headings call this evaluation, e.g. `after: tuned (validation at step 4)`."""
        text = f"{self.name or self.run.name} ({stage_words(self.stage)})"
        return f"{self.role}: {text}" if self.role else text


def stage_words(stage: str) -> str:
    """`val_step_000004` -> `validation at step 4`; `val` -> `validation`; `test` stays."""
    if stage.startswith("val_step_") and stage[9:].isdigit():
        return f"validation at step {int(stage[9:])}"
    return {"val": "validation"}.get(stage, stage)


@dataclass
class Run:
    path: Path
    evaluations: dict[str, Evaluation]
    curves: dict[str, list[tuple[int, float]]]

    def main(self) -> Evaluation:
        """The evaluation a run is judged by: its test, else its last validation."""
        if "test" in self.evaluations:
            return self.evaluations["test"]
        return self.evaluations[sorted(self.evaluations)[-1]]


def find_run(path: Path) -> Path:
    """A run folder (with results/), or a folder of runs (lightning_logs/version_N): the newest."""
    return _newest(path, lambda p: (p / "results").is_dir(), "no results/ folder", "; run `python -m grpodx test` or `fit` first")


def _newest(path: Path, has: Callable[[Path], bool], missing: str, hint: str = "", evaluations: bool = True) -> Path:
    """`path` itself if `has` it, else the newest run below it that does: a lightning_logs/version_*
    (fit) or, with `evaluations`, an evaluations/<command>_<n> (validate, test, predict; see
    grpodx.run.outputs)."""
    if has(path):
        return path
    below = [*path.glob("**/version_*"), *(path.glob("**/evaluations/*") if evaluations else [])]
    versions = sorted((p for p in below if has(p)), key=lambda p: p.stat().st_mtime)
    if not versions:
        raise FileNotFoundError(f"{path}: {missing} here or in a lightning_logs/version_* or evaluations/* below it{hint}")
    return versions[-1]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    records = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not JSON ({error.msg})") from error
    return records


def read_curves(run: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar in the run's TensorBoard events, as (step, value) pairs."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run), size_guidance={"scalars": 0})
    events.Reload()
    return {tag: [(s.step, s.value) for s in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def curves_of(path: Path) -> dict[str, list[tuple[int, float]]]:
    """The training curves of a run folder, or of the newest lightning_logs/version_* below it:
    the fit that made an evaluated adapter, whose own test run logged no curves."""
    return read_curves(_newest(path, lambda p: any(p.glob("events.out.tfevents.*")), "no TensorBoard events", evaluations=False))


def load_run(path: Path, label: str = "") -> Run:
    run = find_run(path)
    evaluations = {}
    for result_path in sorted((run / "results").glob("*.json")):
        stage = result_path.stem
        transcripts = run / "transcripts" / f"{stage}.jsonl"
        if not transcripts.exists():
            raise FileNotFoundError(f"{result_path} has no transcripts file {transcripts}")
        evaluations[stage] = Evaluation(run, stage, json.loads(result_path.read_text()), read_jsonl(transcripts), name=label)
    if not evaluations:
        raise FileNotFoundError(f"{run}/results holds no result files")
    return Run(run, evaluations, read_curves(run))


def before_after(run: Run, other: Run | None) -> tuple[Evaluation | None, Evaluation]:
    """(before, after): the comparison the page is about; before is None for a single evaluation."""
    if other is not None:
        after = run.main()
        return other.evaluations.get(after.stage, other.main()), after
    steps = sorted(s for s in run.evaluations if s.startswith("val_step_"))
    if len(steps) >= 2:  # fit's first and last validation: the same cases, before and after
        return run.evaluations[steps[0]], run.evaluations[steps[-1]]
    return None, run.main()


def paired(before: Evaluation, after: Evaluation) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The records of both evaluations on the (case, sample) pairs they share, in the same order."""
    key = lambda r: (r["case"], r["sample"])  # noqa: E731
    earlier = {key(r): r for r in before.records}
    later = [r for r in after.records if key(r) in earlier]
    return [earlier[key(r)] for r in later], later
