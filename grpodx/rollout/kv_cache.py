"""The one place grpodx depends on transformers' KV-cache classes (supported: transformers >= 4.56).

The decode loop (decode.py) keeps each sequence's keys and values between calls and batches them
into the cache object a model's forward takes. That object's shape is transformers' choice and has
moved between versions:

- 4.56 made `DynamicCache` a list of `DynamicLayer`s, each holding `.keys` and `.values`
  [B, H, P, D] and growing by `update()`; `DynamicCache(ddp_cache_data=...)` builds one from
  per-layer (keys, values). Earlier versions held `key_cache`/`value_cache` lists: unsupported.
- 5.24 renamed the models' `past_key_values` argument and output to `cache`.

Everything else in grpodx sees plain per-layer (keys, values) tensors. tests/test_kv_cache.py
checks this module against the installed transformers.
"""

from __future__ import annotations

from typing import Any

import transformers
from torch import Tensor
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer
from transformers.modeling_outputs import CausalLMOutputWithPast

MINIMUM = (4, 56)
"""The oldest transformers release whose cache layout this module knows."""


def check_version(version: str) -> None:
    """Refuse a transformers older than MINIMUM with one line that says what to install.

    >>> check_version("4.56.0"); check_version("5.25.0.dev0")
    >>> check_version("4.55.4")
    Traceback (most recent call last):
    ...
    ImportError: grpodx needs transformers >= 4.56 (its KV cache layers), found 4.55.4: pip install 'transformers>=4.56'
    """
    parts = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    if parts < MINIMUM:
        raise ImportError(f"grpodx needs transformers >= 4.56 (its KV cache layers), found {version}: pip install 'transformers>=4.56'")


check_version(transformers.__version__)

CACHE_ARG = "cache" if "cache" in CausalLMOutputWithPast.__dataclass_fields__ else "past_key_values"
"""The models' KV-cache argument and output field: `cache` from 5.24, `past_key_values` before."""

Layers = list[tuple[Tensor, Tensor]]
"""Per layer (keys, values), each [B, H, P, D]."""


def new_cache(layers: Layers | None = None) -> Any:
    """A cache for a model's forward: empty, or holding `layers`."""
    return DynamicCache(ddp_cache_data=layers) if layers else DynamicCache()


def cache_layers(cache: Any) -> Layers:
    """A cache's per-layer (keys, values)."""
    return [(layer.keys, layer.values) for layer in cache.layers]


def returned_cache(output: Any) -> Any:
    """The grown cache a forward with `use_cache=True` returned."""
    return getattr(output, CACHE_ARG)


class _GrowingLayer(DynamicLayer):
    """A cache layer whose keys and values live in a buffer with room for a call's decode steps:
    a step writes its slot in place where `DynamicLayer` would `torch.cat` the whole cache (on a
    CPU that copy was a sixth of a tiny model's step). Attention reads a view of exactly the
    filled slots, so it computes the same thing, bit for bit."""

    def __init__(self, keys: Tensor, values: Tensor, room: int) -> None:
        super().__init__()
        filled = keys.shape[-2]
        self._keys = keys.new_empty(*keys.shape[:-2], filled + room, keys.shape[-1])  # [B, H, P + room, D]
        self._values = values.new_empty(*values.shape[:-2], filled + room, values.shape[-1])
        self.filled, self.dtype, self.device, self.is_initialized = 0, keys.dtype, keys.device, True
        self.update(keys, values)

    def update(self, key_states: Tensor, value_states: Tensor, *args: Any, **kwargs: Any) -> tuple[Tensor, Tensor]:
        start, end = self.filled, self.filled + key_states.shape[-2]
        self._keys[..., start:end, :], self._values[..., start:end, :] = key_states, value_states
        self.keys, self.values, self.filled = self._keys[..., :end, :], self._values[..., :end, :], end
        return self.keys, self.values


def with_room(cache: Any, room: int) -> Any:
    """`cache` with its layers moved into buffers that take `room` more slots each, written in place."""
    cache.layers = [_GrowingLayer(layer.keys, layer.values, room) for layer in cache.layers]
    return cache
