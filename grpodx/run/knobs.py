"""Checks for configuration values, in the `__post_init__` of the dataclass that declares them.

Each config names its place in the YAML (`model.optim`), so a bad value fails at parse time,
before any model loads, with the key the user typed: `model.optim.lr must be > 0, got -0.001`.
"""

from __future__ import annotations

from typing import Any


class ConfigError(ValueError):
    """A configuration value outside its allowed range; the message names the config key."""


def require(prefix: str, rules: dict[str, tuple[bool, str]], values: Any) -> None:
    """Raise ConfigError for the first `name: (ok, rule)` that is not ok, naming `prefix.name`.

    `values` holds the checked values as attributes (a config) or keys (a dict of arguments).

    >>> require("model.optim", {"lr": (False, "> 0")}, type("C", (), {"lr": -1e-3}))
    Traceback (most recent call last):
    ...
    grpodx.run.knobs.ConfigError: model.optim.lr must be > 0, got -0.001
    """
    for name, (ok, rule) in rules.items():
        if not ok:
            value = values[name] if isinstance(values, dict) else getattr(values, name)
            raise ConfigError(f"{prefix}.{name} must be {rule}, got {value!r}")
