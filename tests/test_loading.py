"""Loading the doctor: LoRA targets on fused and separate layouts, backends, precision."""

import os
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from grpodx.policy.backends import BackendError, pick_backend
from grpodx.policy.backends.hf import HfBackend
from grpodx.policy.backends.unsloth import UnslothBackend, import_unsloth
from grpodx.policy.backends.vllm import VllmBackend
from grpodx.policy.loading import bf16_supported, compute_dtype, fit_lora_targets
from grpodx.policy.policy import LoraConfig, Policy, PolicyConfig

ROOT = Path(__file__).resolve().parents[1]
LLAMA_NAMES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
PHI3_NAMES = ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"]


def tiny_llama():
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1)
    return LlamaForCausalLM(config)


def test_llama_target_names_fit_the_fused_phi3_layout(model_cache):
    # Unsloth's Phi-4 names its projections like Llama, Microsoft's fuses them: one list fits both
    policy = Policy(PolicyConfig(cache_dir=model_cache, lora=LoraConfig(r=4, target_modules=LLAMA_NAMES)))
    assert set(policy.model.peft_config["default"].target_modules) == set(PHI3_NAMES)


def test_fused_target_names_fit_a_separate_llama_layout():
    assert fit_lora_targets(tiny_llama(), PHI3_NAMES) == ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    assert fit_lora_targets(tiny_llama(), "all-linear", expand_all=True) == sorted(LLAMA_NAMES)  # never the output head


def test_a_target_that_fits_nothing_is_an_error(model_cache):
    with pytest.raises(ValueError, match=r"\['c_attn'\] match no linear layer.*qkv_proj"):
        Policy(PolicyConfig(cache_dir=model_cache, lora=LoraConfig(target_modules=["qkv_proj", "c_attn"])))


def test_unsloth_without_a_gpu_is_one_clear_error_and_auto_falls_back_to_hf():
    assert not torch.cuda.is_available()  # this suite runs on CPU machines
    with pytest.raises(BackendError, match="needs a CUDA GPU"):
        pick_backend("unsloth")
    assert isinstance(pick_backend("auto"), HfBackend) and pick_backend("hf").name == "hf"
    with pytest.raises(BackendError, match=r"not installed: `pip install 'grpodx\[gpu\]'`"):
        import_unsloth()  # unsloth is never installed on the CPU test machines
    with pytest.raises(BackendError, match="needs a CUDA GPU"):
        Policy(PolicyConfig(backend="unsloth"))  # refused before any model is loaded


def test_each_backend_is_one_object_and_hf_samples_through_the_kv_cache(tiny_policy):
    assert (HfBackend.name, UnslothBackend.name, VllmBackend.name) == ("hf", "unsloth", "vllm")  # all import without a GPU
    assert isinstance(tiny_policy.backend, HfBackend)
    calls, was_training = tiny_policy.decode_stats.calls, tiny_policy.model.training
    prompt = tiny_policy.tokenizer.encode("DIAGNOSIS:", add_special_tokens=False)
    out = tiny_policy.generate([prompt, prompt], max_new_tokens=3, temperature=0)
    assert tiny_policy.decode_stats.calls == calls + 1  # one pass of grpodx's decode loop, not transformers.generate
    assert out[0] == out[1] and 1 <= len(out[0]) <= 3
    assert tiny_policy.model.training == was_training  # sampling put the model back in the mode it was in


def test_bf16_autocast_by_config_fp32_by_config(tiny_policy):
    assert compute_dtype("fp32", "cpu") is None and compute_dtype("bf16", "cpu") is torch.bfloat16
    assert compute_dtype("auto", "cpu") is (torch.bfloat16 if bf16_supported("cpu") else None)
    bf16 = Policy(replace(tiny_policy.config, precision="bf16"))
    fp32 = Policy(replace(tiny_policy.config, precision="fp32"))
    assert all(p.dtype == torch.float32 for p in bf16.parameters())  # float32 master weights on a CPU
    ids = torch.tensor([fp32.tokenizer.encode("DIAGNOSIS: Asthma\nDIFFERENTIAL: COPD", add_special_tokens=False)])
    low, full = bf16.log_probs(ids, torch.ones_like(ids)), fp32.log_probs(ids, torch.ones_like(ids))
    assert low.dtype == torch.float32 and not torch.equal(low, full)  # the forward ran in bf16
    assert torch.allclose(low, full, atol=0.25)
    assert len(bf16.generate([ids[0].tolist()], max_new_tokens=3, temperature=0)[0]) <= 3


@pytest.fixture(scope="module")
def broken_torchvision(tmp_path_factory) -> Path:
    """A real torchvision built for another torch: what `pip install 'grpodx[gpu]'` leaves on a CPU machine."""
    folder = tmp_path_factory.mktemp("torchvision")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet", "--dest", str(folder), "torchvision==0.21.0"], check=True
    )
    with zipfile.ZipFile(next(folder.glob("torchvision-*.whl"))) as wheel:
        wheel.extractall(folder / "site")
    return folder / "site"


@pytest.mark.slow  # downloads torchvision with pip
def test_a_broken_torchvision_is_one_line_not_a_stack_trace(broken_torchvision):
    env = {**os.environ, "PYTHONPATH": str(broken_torchvision)}
    done = subprocess.run([sys.executable, "-m", "grpodx", "fit", "--help"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0 and "torchvision does not work with torch" in done.stderr
    assert "pip uninstall torchvision" in done.stderr


@pytest.mark.slow  # builds and trains a tiny model of its own
def test_building_the_model_folder_leaves_the_seeded_random_state_alone(tmp_path):
    # A first run builds the tiny model (it seeds and trains its own weights); the LoRA init after
    # it must be what a later run that finds the folder cached draws, or a resume cannot match.
    from grpodx.policy.loading import resolved

    config = PolicyConfig(cache_dir=str(tmp_path))
    draws = []
    for _ in ("built", "cached"):
        torch.manual_seed(7)
        resolved(config)
        draws.append(torch.rand(4))
    assert torch.equal(draws[0], draws[1])
