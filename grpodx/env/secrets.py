"""Placeholder until the env branch's secrets module lands (merge takes theirs)."""

from __future__ import annotations

from typing import Any

from lightning.pytorch.cli import SaveConfigCallback


def redact(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: ("***" if "api_key" in str(k).lower() and v else redact(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [redact(v) for v in obj]
    return obj


class RedactingSaveConfigCallback(SaveConfigCallback):
    pass
