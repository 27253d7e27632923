"""Field checks shared by every reader of cases: each raises `CaseError` naming where and which field."""

from __future__ import annotations

import re
from typing import Any

from grpodx.cases.errors import CaseError

ICD10_CODE = re.compile(r"[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?")
"""One well-formed ICD-10 code: a letter, two digits, optionally a dot and up to four more."""


def strings(value: Any, where: str, name: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    """A non-empty string or a list of them, stripped; an empty list only when `allow_empty`."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise CaseError(where, name, "must be a list of non-empty strings")
    if not value and not allow_empty:
        raise CaseError(where, name, "must not be empty")
    return tuple(v.strip() for v in value)


MAX_TEXT_CHARS = 20_000
"""Longest text a case field may hold: a complaint, a fact or a name (the longest in the shipped
and public data is a few thousand); longer is refused, never silently cut."""


def one_string(value: Any, where: str, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CaseError(where, name, "must be a non-empty string")
    if len(value) > MAX_TEXT_CHARS:
        raise CaseError(where, name, f"is {len(value):,} characters, more than the {MAX_TEXT_CHARS:,} a case field may hold")
    return value.strip()


def normalise_icd10(value: Any, where: str, name: str = "icd10", *, allow_empty: bool = False) -> str:
    """'j17, j18' -> 'J17, J18'; each code must be well formed. '' only when `allow_empty`."""
    if not isinstance(value, str):
        raise CaseError(where, name, f"must be a string such as 'I21.9', got {value!r}")
    codes = [c for c in re.split(r"[,;/\s]+", value.strip().upper()) if c]
    if not codes and allow_empty:
        return ""
    bad = [c for c in codes if not ICD10_CODE.fullmatch(c)]
    if not codes or bad:
        raise CaseError(where, name, f"must be ICD-10 codes such as 'I21.9', got {value!r}")
    return ", ".join(codes)


def check_unknown(raw: dict[str, Any], allowed: set[str], where: str, prefix: str = "") -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise CaseError(where, f"{prefix}{unknown[0]}", f"unknown field (allowed: {', '.join(sorted(allowed))})")


def body_system_for_icd10(code: str) -> str:
    """The body system of an ICD-10 code's chapter ('other' for symptom, injury and unknown
    codes): `grpodx.clinical.icd10.body_system`, the one chapter rule."""
    from grpodx.clinical import icd10  # the code set loads in seconds: only when a code needs a system

    return icd10.body_system(code.split(",")[0].strip())
