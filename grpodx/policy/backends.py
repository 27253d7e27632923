"""Which library runs the doctor (Unsloth or transformers + PEFT), and the ways that choice breaks.

Unsloth is an optional GPU extra. Installed on a CPU machine it brings a torchvision built for
another torch, and that torchvision breaks `import lightning`; `broken_torchvision` turns the
resulting stack trace into one line that says what to do.
"""

from __future__ import annotations

import importlib.util
import logging
import traceback
from typing import Literal

import torch

Backend = Literal["auto", "unsloth", "hf"]
_log = logging.getLogger(__name__)


class BackendError(RuntimeError):
    """The configured backend cannot run here; the message is one line saying why and what to do."""


def pick_backend(requested: Backend) -> Literal["unsloth", "hf"]:
    """'auto' -> Unsloth when CUDA is present and it imports, else transformers + PEFT."""
    if requested == "hf":
        return "hf"
    if requested == "unsloth":
        if not torch.cuda.is_available():
            raise BackendError("policy.backend 'unsloth' needs a CUDA GPU and this machine has none: use 'hf' or 'auto'")
        import_unsloth()
        return "unsloth"
    if not torch.cuda.is_available() or importlib.util.find_spec("unsloth") is None:
        return "hf"
    try:
        import_unsloth()
    except BackendError as error:
        _log.warning("policy.backend 'auto' uses 'hf': %s", error)
        return "hf"
    return "unsloth"


def import_unsloth():
    """Unsloth's FastLanguageModel, or a one-line BackendError."""
    try:
        from unsloth import FastLanguageModel
    except ImportError as error:
        if importlib.util.find_spec("unsloth") is None:
            raise BackendError("policy.backend 'unsloth' is not installed: `pip install 'grpodx[gpu]'` on a CUDA machine") from error
        raise BackendError(f"unsloth is installed but does not import ({_first_line(error)})") from error
    except Exception as error:  # unsloth raises NotImplementedError, RuntimeError... without a GPU
        raise BackendError(f"unsloth does not import here ({type(error).__name__}: {_first_line(error)})") from error
    return FastLanguageModel


def fast_inference_available() -> bool:
    """vLLM is installed, so Unsloth can sample through it (`fast_inference`)."""
    return importlib.util.find_spec("vllm") is not None


def broken_torchvision(error: BaseException) -> str | None:
    """One line for an exception raised from inside torchvision (a build for another torch), else None."""
    frames = traceback.extract_tb(error.__traceback__)
    if not any("/torchvision/" in frame.filename.replace("\\", "/") for frame in frames) and "torchvision" not in str(error):
        return None
    return (
        f"torchvision does not work with torch {torch.__version__} ({type(error).__name__}: {_first_line(error)}). "
        "It was probably installed for another torch build, as `pip install 'grpodx[gpu]'` (Unsloth) does on a CPU "
        "machine. grpodx does not need it: `pip uninstall torchvision`, or install the torchvision built for this torch."
    )


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0][:200]
