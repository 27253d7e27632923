"""CaseDataModule: case sources -> deterministic train/val/test splits -> batches of `Case`.

A batch is a plain `list[Case]` (the rollout repeats each case G times itself). Cases are
small and in memory, so loading happens once, in `setup`, and there are no workers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import torch
from lightning.pytorch import LightningDataModule
from lightning.pytorch.overrides.distributed import UnrepeatedDistributedSampler
from lightning.pytorch.utilities import rank_zero_info
from torch.utils.data import DataLoader, Dataset

from grpodx.cases.schema import Case
from grpodx.cases.sources import load_sources
from grpodx.cases.splits import SplitBy, split_cases, subsample
from grpodx.run.knobs import require
from grpodx.train.batches import ResumableBatches

if TYPE_CHECKING:
    from grpodx.clinical.coding import DiagnosisIndex


def collate_cases(cases: list[Case]) -> list[Case]:
    """Keep a batch as the list of cases it is."""
    return list(cases)


def keep_diagnoses(cases: list[Case], names: list[str], index: DiagnosisIndex | None = None) -> list[Case]:
    """The cases whose diagnosis is one of `names` as the judge counts them (`concept_key` over
    `index`, by default the bank and `cases`: "MI" keeps the myocardial infarction cases); a
    name that is none of the cases' diagnoses is an error."""
    from grpodx.clinical.coding import DiagnosisIndex, concept_key  # the ICD-10-CM code set takes seconds to import

    known_index = index if index is not None else DiagnosisIndex.for_cases(cases)
    wanted = {concept_key(n, known_index): n.strip() for n in names}
    known = {concept_key(c.diagnosis, known_index) for c in cases}
    unknown = sorted(name for key, name in wanted.items() if key not in known)
    if not wanted or unknown:
        raise ValueError(
            f"data.diagnoses: {unknown or 'an empty list'} not among the {len(known)} diagnoses of data.sources (see `python -m grpodx cases stats`)"
        )
    return [c for c in cases if concept_key(c.diagnosis, known_index) in wanted]


class CaseDataModule(LightningDataModule):
    """Cases: their sources, the train/val/test split and the batch sizes."""

    def __init__(
        self,
        sources: list[str] = ["builtin"],  # noqa: B006 (copied below; LightningCLI shows the default)
        variants_per_disease: int = 3,
        split_by: SplitBy = "case",
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        seed: int = 0,
        batch_size: int = 4,
        eval_batch_size: int = 8,
        skip_invalid: bool = False,
        max_train_cases: int | None = None,
        max_eval_cases: int | None = None,
        diagnoses: list[str] | None = None,
        test_cases: str | list[str] | None = None,
    ) -> None:
        """
        Args:
            sources: case sources: `builtin`, a path, or `format:path` (format one of builtin,
                jsonl, agentclinic, ddxplus, mediq).
            variants_per_disease: seeded cases per disease for template sources (builtin, ddxplus).
            split_by: `case`, or `diagnosis` to hold out whole diagnoses for val and test.
            val_fraction: share of cases (or diagnoses) held out for validation.
            test_fraction: share of cases (or diagnoses) held out for test.
            seed: seeds case variation, the split, subsampling and the training shuffle.
            batch_size: cases per training step (each becomes a group of G episodes).
            eval_batch_size: cases per validation/test/predict batch.
            skip_invalid: report and skip bad records instead of failing on the first.
            max_train_cases: keep a seeded random subset of this many training cases.
            max_eval_cases: keep a seeded random subset of this many val and test cases each.
            diagnoses: keep only cases of these diagnoses (case-insensitive; each must exist in
                the sources), before splitting: a smaller task for a small budget.
            test_cases: evaluate `test` on these sources instead of the test split (any source
                string, e.g. `agentclinic:cases.jsonl`); all their cases are test cases.
        """
        require(
            "data",
            {
                "sources": (bool(sources), "at least one case source"),
                "variants_per_disease": (variants_per_disease >= 1, ">= 1"),
                "split_by": (split_by in ("case", "diagnosis"), "'case' or 'diagnosis'"),
                "val_fraction": (0 <= val_fraction < 1, "in [0, 1)"),
                "test_fraction": (0 <= test_fraction < 1 and val_fraction + test_fraction < 1, "in [0, 1), with val_fraction + test_fraction below 1"),
                "batch_size": (batch_size >= 1, ">= 1"),
                "eval_batch_size": (eval_batch_size >= 1, ">= 1"),
                "max_train_cases": (max_train_cases is None or max_train_cases >= 1, "empty or >= 1"),
                "max_eval_cases": (max_eval_cases is None or max_eval_cases >= 1, "empty or >= 1"),
            },
            dict(
                sources=sources,
                variants_per_disease=variants_per_disease,
                split_by=split_by,
                val_fraction=val_fraction,
                test_fraction=test_fraction,
                batch_size=batch_size,
                eval_batch_size=eval_batch_size,
                max_train_cases=max_train_cases,
                max_eval_cases=max_eval_cases,
            ),
        )
        super().__init__()
        # as 'data_seed': Lightning logs the module's and the datamodule's hparams together and
        # refuses two different 'seed's, so `--data.seed 1` alone crashed after the model loaded
        self.save_hyperparameters(ignore=["seed"])
        self.hparams["data_seed"] = seed
        self.sources = list(sources)
        self.variants_per_disease = variants_per_disease
        self.split_by: SplitBy = split_by
        self.val_fraction, self.test_fraction = val_fraction, test_fraction
        self.seed = seed
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.skip_invalid = skip_invalid
        self.max_train_cases, self.max_eval_cases = max_train_cases, max_eval_cases
        self.keep_diagnoses = list(diagnoses) if diagnoses is not None else None
        self.test_sources = [test_cases] if isinstance(test_cases, str) else list(test_cases or [])
        self._all: list[Case] | None = None
        self.train_cases: list[Case] = []
        self.val_cases: list[Case] = []
        self.test_cases: list[Case] = []

    def setup(self, stage: str | None = None) -> None:
        if self._all is not None:
            return
        cases, reports = load_sources(self.sources, seed=self.seed, variants_per_disease=self.variants_per_disease, skip_invalid=self.skip_invalid)
        index = self._index(cases)
        subset = keep_diagnoses(cases, self.keep_diagnoses, index) if self.keep_diagnoses is not None else cases
        train, val, test = split_cases(subset, self.split_by, self.val_fraction, self.test_fraction, self.seed, index)
        if self.test_sources:
            test, more = load_sources(self.test_sources, seed=self.seed, variants_per_disease=self.variants_per_disease, skip_invalid=self.skip_invalid)
            reports += more
            cases = cases + test
        for report in reports:
            rank_zero_info(report.summary())
        self.train_cases = subsample(train, self.max_train_cases, self.seed)
        self.val_cases = subsample(val, self.max_eval_cases, self.seed)
        self.test_cases = subsample(sorted(test, key=lambda c: c.id), self.max_eval_cases, self.seed)
        self._all = cases  # the judge's universe: every loaded diagnosis, even outside a subset
        rank_zero_info(
            f"cases: {len(subset)} from {len(self.sources)} source(s), {len({c.diagnosis for c in subset})} diagnoses; "
            f"split by {self.split_by}: train {len(self.train_cases)}, val {len(self.val_cases)}, test {len(self.test_cases)}"
        )

    def _index(self, cases: list[Case]) -> DiagnosisIndex | None:
        """The diagnosis index of the bank and all loaded `cases`, where diagnoses are compared
        (one for the filter and the split, so both count diseases alike); None where they are not."""
        if self.keep_diagnoses is None and self.split_by != "diagnosis":
            return None
        from grpodx.clinical.coding import DiagnosisIndex  # the ICD-10-CM code set takes seconds to import

        return DiagnosisIndex.for_cases(cases)

    def all_cases(self) -> list[Case]:
        """Every loaded case, in every split (before subsampling) and from `test_cases`."""
        self.setup()
        assert self._all is not None
        return self._all

    def judge_cases(self) -> list[Case]:
        """The cases the judge must know: every case this module loaded, from `sources` and from
        any other place its splits were filled from (e.g. an external test source), in a fixed
        order, so the judge's index is the same in fit, validate, test and a fresh process."""
        seen: dict[str, Case] = {}
        for case in (*self.all_cases(), *self.train_cases, *self.val_cases, *self.test_cases):
            seen.setdefault(case.id, case)
        return list(seen.values())

    def diagnoses(self) -> list[str]:
        """Every distinct diagnosis, sorted."""
        return sorted({c.diagnosis for c in self.all_cases()})

    def transfer_batch_to_device(self, batch: list[Case], device: torch.device, dataloader_idx: int) -> list[Case]:
        return batch  # a batch is a list of Case records; tensors are built after the rollout

    def train_dataloader(self) -> ResumableBatches:
        trainer = self.trainer
        rank, world = (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)
        return ResumableBatches(self.train_cases, self.batch_size, self.seed, rank, world)

    def _eval_loader(self, cases: list[Case]) -> DataLoader:
        """Under DDP each rank takes every world_size-th case: disjoint shares that cover the
        cases once (Lightning's default sampler would pad by repeating cases, counting them twice)."""
        world, rank = (self.trainer.world_size, self.trainer.global_rank) if self.trainer is not None else (1, 0)
        sampler = UnrepeatedDistributedSampler(cases, num_replicas=world, rank=rank, shuffle=False) if world > 1 else None
        return DataLoader(cast(Dataset, cases), batch_size=self.eval_batch_size, shuffle=False, sampler=sampler, collate_fn=collate_cases)

    def val_dataloader(self) -> DataLoader:
        return self._eval_loader(self.val_cases)

    def test_dataloader(self) -> DataLoader:
        return self._eval_loader(self.test_cases)

    def predict_dataloader(self) -> DataLoader:
        return self._eval_loader(self.test_cases)
