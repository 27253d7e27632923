"""The model resolver: local folder, hub (offline here), and SmolLM2 from its PyPI wheel."""

import os
import time
from pathlib import Path

import pytest

from grpodx.policy.models import SMOLLM2, ModelNotFoundError, resolve_model
from grpodx.rollout.template import ChatTokens


@pytest.mark.slow  # converts SmolLM2
def test_smollm2_resolves_offline_from_pypi_and_reuses_its_conversion(smollm2, model_cache):
    assert os.environ["HF_HUB_OFFLINE"] == "1"  # the hub was not asked: this came from PyPI
    folder = Path(smollm2)
    assert folder.parent == Path(model_cache) and (folder / "config.json").exists() and (folder / "model.safetensors").exists()
    assert not list(Path(model_cache).glob(".*"))  # no wheel, GGUF or half-written folder left behind
    start = time.perf_counter()
    assert resolve_model(SMOLLM2, model_cache) == smollm2
    assert time.perf_counter() - start < 1.0


@pytest.mark.slow  # converts SmolLM2
def test_smollm2_chat_template_passes_the_token_in_token_out_check(smollm2):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(smollm2)
    chat = ChatTokens(tokenizer, [tokenizer.eos_token_id])  # raises TemplateError if not prefix-preserving
    opening = [{"role": "user", "content": "I have had a cough for a week."}]
    assert chat.render(opening, add_generation_prompt=True).startswith("<|im_start|>system\nYou are a helpful AI assistant")
    doctor = "<reason>ask about fever</reason>Any fever?"
    sampled = chat.prompt_ids(opening) + chat.encode(doctor) + [tokenizer.eos_token_id]
    delta = chat.patient_delta(opening, doctor, ended_with_stop=True, patient_text="Yes, at night.")
    full = [*opening, {"role": "assistant", "content": doctor}, {"role": "user", "content": "Yes, at night."}]
    assert sampled + delta == chat.prompt_ids(full)


def test_an_unknown_model_names_every_place_tried(tmp_path):
    with pytest.raises(ModelNotFoundError) as caught:
        resolve_model("nobody/no-such-model", tmp_path)
    message = str(caught.value)
    for place in ["local folder", "nobody/no-such-model: does not exist", "hub cache: not downloaded", "HF_HUB_OFFLINE is set", SMOLLM2]:
        assert place in message, place


def test_a_local_folder_needs_a_config(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="empty: has no config.json"):
        resolve_model(str(tmp_path / "empty"), tmp_path)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    assert resolve_model(str(tmp_path / "model"), tmp_path) == str(tmp_path / "model")
