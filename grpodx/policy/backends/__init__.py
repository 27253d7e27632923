"""Which library runs the doctor, one object per backend: `hf` (transformers + PEFT), `unsloth`
(GPU), `vllm` (Unsloth sampling through vLLM), and the ways that choice breaks.

Unsloth is an optional GPU extra. Installed on a CPU machine it brings a torchvision built for
another torch, and that torchvision breaks `import lightning`; `broken_torchvision` turns the
resulting stack trace into one line that says what to do.
"""

from __future__ import annotations

import importlib.util
import logging
import traceback

import torch

from grpodx.policy.backends.base import Backend, BackendError, DoctorBackend, first_line

# Light on purpose: the CLI's error handler imports this package to explain a broken install
# (see broken_torchvision), so the backends, which import transformers, load in pick_backend.
__all__ = ["Backend", "BackendError", "DoctorBackend", "broken_torchvision", "pick_backend"]
_log = logging.getLogger(__name__)


def pick_backend(requested: Backend, fast_inference: bool = True) -> DoctorBackend:
    """'auto' -> Unsloth when CUDA is present and it imports, else transformers + PEFT. Unsloth
    samples through vLLM when `fast_inference` is on and vLLM is installed."""
    from grpodx.policy.backends.hf import HfBackend
    from grpodx.policy.backends.unsloth import import_unsloth

    if requested == "hf":
        return HfBackend()
    if requested == "unsloth":
        if not torch.cuda.is_available():
            raise BackendError("policy.backend 'unsloth' needs a CUDA GPU and this machine has none: use 'hf' or 'auto'")
        import_unsloth()
        return _unsloth(fast_inference)
    if not torch.cuda.is_available() or importlib.util.find_spec("unsloth") is None:
        return HfBackend()
    try:
        import_unsloth()
    except BackendError as error:
        _log.warning("policy.backend 'auto' uses 'hf': %s", error)
        return HfBackend()
    return _unsloth(fast_inference)


def _unsloth(fast_inference: bool) -> DoctorBackend:
    from grpodx.policy.backends.unsloth import UnslothBackend
    from grpodx.policy.backends.vllm import VllmBackend, vllm_installed

    return VllmBackend() if fast_inference and vllm_installed() else UnslothBackend()


def broken_torchvision(error: BaseException) -> str | None:
    """One line for an exception raised from inside torchvision (a build for another torch), else None."""
    frames = traceback.extract_tb(error.__traceback__)
    if not any("/torchvision/" in frame.filename.replace("\\", "/") for frame in frames) and "torchvision" not in str(error):
        return None
    return (
        f"torchvision does not work with torch {torch.__version__} ({type(error).__name__}: {first_line(error)}). "
        "It was probably installed for another torch build, as `pip install 'grpodx[gpu]'` (Unsloth) does on a CPU "
        "machine. grpodx does not need it: `pip uninstall torchvision`, or install the torchvision built for this torch."
    )
