"""Deterministic train/val/test splits, by case or by whole diagnosis."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from grpodx.cases.schema import Case

if TYPE_CHECKING:
    from grpodx.clinical.coding import DiagnosisIndex

SplitBy = Literal["case", "diagnosis"]


def _count(fraction: float, units: int) -> int:
    # A positive fraction of a small source still holds out at least one unit.
    return max(1, round(fraction * units)) if fraction > 0 else 0


def split_cases(
    cases: list[Case], split_by: SplitBy, val_fraction: float, test_fraction: float, seed: int, index: DiagnosisIndex | None = None
) -> tuple[list[Case], list[Case], list[Case]]:
    """(train, val, test), each sorted by id; the same cases and seed always give the same split.

    `split_by="diagnosis"` holds out whole diagnoses as the judge counts them (`concept_key`
    over `index`, by default the bank and `cases`: "heart attack" and "myocardial infarction"
    are one diagnosis), so val and test measure diagnoses the doctor never trained on; `"case"`
    lets variants of one disease fall on both sides.
    """
    key = _diagnosis_key(cases, index) if split_by == "diagnosis" else (lambda c: c.id)
    units = _ordered_units(cases, key, (lambda c: c.diagnosis.lower()) if split_by == "diagnosis" else key)
    random.Random(seed).shuffle(units)
    n_test, n_val = _count(test_fraction, len(units)), _count(val_fraction, len(units))
    if n_test + n_val >= len(units):
        raise ValueError(f"{len(units)} {'diagnoses' if split_by == 'diagnosis' else 'cases'} are too few to hold out {n_val} for val and {n_test} for test")
    test_units, val_units = set(units[:n_test]), set(units[n_test : n_test + n_val])
    train: list[Case] = []
    val: list[Case] = []
    test: list[Case] = []
    for case in sorted(cases, key=lambda c: c.id):
        unit = key(case)
        (test if unit in test_units else val if unit in val_units else train).append(case)
    return train, val, test


def _ordered_units(cases: list[Case], key: Callable[[Case], str], name: Callable[[Case], str]) -> list[str]:
    """Each unit (`key`) once, ordered by the least `name` of its cases, whatever the source
    order. By lower-cased diagnosis, a seed holds out the diseases it held out when units were
    lower-cased names: only diseases under several names are split differently, as one unit."""
    first: dict[str, str] = {}
    for case in cases:
        unit = key(case)
        first[unit] = min(first.get(unit, name(case)), name(case))
    return sorted(first, key=first.__getitem__)


def _diagnosis_key(cases: list[Case], index: DiagnosisIndex | None) -> Callable[[Case], str]:
    from grpodx.clinical.coding import DiagnosisIndex, concept_key  # the ICD-10-CM code set takes seconds to import

    known = index if index is not None else DiagnosisIndex.for_cases(cases)
    return lambda case: concept_key(case.diagnosis, known)


def subsample(cases: list[Case], limit: int | None, seed: int) -> list[Case]:
    """A seeded random `limit` of the cases (all when limit is None), kept in id order."""
    if limit is None or limit >= len(cases):
        return cases
    if limit < 1:
        raise ValueError(f"a case limit must be at least 1, got {limit}")
    return sorted(random.Random(seed).sample(cases, limit), key=lambda c: c.id)
