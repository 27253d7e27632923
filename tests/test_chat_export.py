"""`chat` driven through stdin and `export` (adapter, merged) from a checkpoint of a short tiny fit."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from grpodx.cli import main

ROOT = Path(__file__).resolve().parents[1]
ANSWERS = "I have had a cough and a fever for three days.\nYes, it is worse at night.\nNo.\nNo.\n"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, model_cache) -> Path:
    root = tmp_path_factory.mktemp("fit")
    main(["fit", "--config", str(ROOT / "configs" / "tiny.yaml"), f"--trainer.default_root_dir={root}", f"--model.policy.cache_dir={model_cache}",
          "--trainer.max_steps=2", "--trainer.enable_progress_bar=false"])  # fmt: skip
    ckpt = sorted(root.glob("lightning_logs/version_*/checkpoints/last.ckpt"))[-1]
    lora_b = [v for k, v in torch.load(ckpt, weights_only=False)["state_dict"].items() if "lora_B" in k]
    assert any(v.abs().sum() > 0 for v in lora_b)  # a trained adapter, so merging it changes the weights
    return ckpt


def chat(*args: str) -> str:
    command = [sys.executable, "-m", "grpodx", "chat", *args, "--max-turns=3", "--max-new-tokens=32"]
    done = subprocess.run(command, input=ANSWERS, capture_output=True, text=True, cwd=ROOT, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_chat_plays_the_patient_through_stdin_and_ends_with_the_diagnosis(checkpoint, model_cache):
    hidden = chat("--ckpt", str(checkpoint), "--cache-dir", model_cache)
    shown = chat("--ckpt", str(checkpoint), "--cache-dir", model_cache, "--show-reasoning")
    assert hidden.startswith("You are the patient.") and "Doctor: " in hidden
    last = [line for line in hidden.splitlines() if line.strip()][-2:]
    assert last[0].startswith("Diagnosis: ") and last[1].startswith("Differential: ")
    # greedy, so both runs hold the same conversation: only one shows the private reasoning
    assert "(reasoning: " in shown and "(reasoning" not in hidden and "<reason>" not in hidden
    assert [line for line in shown.splitlines() if "(reasoning" not in line] == hidden.splitlines()


def test_export_writes_an_adapter_and_a_merged_model_with_the_same_logits(checkpoint, model_cache, tmp_path):
    from transformers import AutoModelForCausalLM

    from grpodx.policy.saved import doctor_from_checkpoint

    for name, flag in [("adapter", []), ("merged", ["--merge"])]:
        assert run(["export", "--ckpt", str(checkpoint), "--out", str(tmp_path / name), "--cache-dir", model_cache, *flag]) == 0
    assert (tmp_path / "adapter" / "adapter_config.json").exists()
    merged_files = load_file(tmp_path / "merged" / "model.safetensors")
    assert not any("lora" in name for name in merged_files)
    doctor = doctor_from_checkpoint(checkpoint, cache_dir=model_cache)
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "merged")
    ids = torch.tensor([doctor.tokenizer.encode("<reason>cough, fever</reason>DIAGNOSIS: Pneumonia", add_special_tokens=False)])
    with torch.no_grad():
        expected = doctor.model(input_ids=ids).logits
        with doctor.model.disable_adapter():
            base = doctor.model(input_ids=ids).logits
        got = merged(input_ids=ids).logits
    assert torch.allclose(got, expected, atol=1e-4) and not torch.allclose(got, base, atol=1e-4)


def run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    return exited.value.code


def test_exports_carry_the_runs_card_and_normal_permissions(checkpoint, model_cache, tmp_path):
    for name, flag in [("adapter", []), ("merged", ["--merge"])]:
        assert run(["export", "--ckpt", str(checkpoint), "--out", str(tmp_path / name), "--cache-dir", model_cache, *flag]) == 0
    adapter, merged = (tmp_path / "adapter" / "README.md").read_text(), (tmp_path / "merged" / "README.md").read_text()
    for card in (adapter, merged):  # the checkpoint's two steps and data, as the run's own adapters/final card says
        assert "Optimizer steps: 2" in card and "Training data: `builtin`" in card and "| val/accuracy |" in card, card
    assert "system_prompt(max_turns=5)" in merged and "grpodx's own system prompt" in merged
    assert (tmp_path / "adapter" / "README.md").read_text() == adapter
    umask = os.umask(0)
    os.umask(umask)
    for folder in (tmp_path / "adapter", tmp_path / "merged"):  # not mkdtemp's private 0700 and 0600
        assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~umask, folder
        assert stat.S_IMODE((folder / "README.md").stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE(checkpoint.stat().st_mode) == 0o666 & ~umask  # mkstemp's 0600 no more


def test_export_of_an_adapter_folder_keeps_its_card(checkpoint, model_cache, tmp_path):
    final = checkpoint.parent.parent / "adapters" / "final"
    assert run(["export", "--adapter", str(final), "--out", str(tmp_path / "again"), "--cache-dir", model_cache]) == 0
    card = (tmp_path / "again" / "README.md").read_text()
    assert "Optimizer steps: 2" in card and "Training data: `builtin`" in card
