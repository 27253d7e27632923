"""The doctor policy: the free reference model, adapter export, atomic checkpoints."""

import pickle

import pytest
import torch

from grpodx.run.callbacks import AtomicCheckpointIO


def test_reference_is_the_base_model_with_the_adapter_disabled(tiny_policy):
    ids = torch.tensor([tiny_policy.tokenizer.encode("DIAGNOSIS: Asthma", add_special_tokens=False)])
    mask = torch.ones_like(ids)
    assert torch.allclose(tiny_policy.log_probs(ids, mask), tiny_policy.reference_log_probs(ids, mask))  # B = 0 at start
    lora_b = [p for n, p in tiny_policy.named_parameters() if "lora_B" in n]
    saved = [p.detach().clone() for p in lora_b]
    try:
        with torch.no_grad():
            for p in lora_b:
                p.normal_(std=0.5)
        moved, reference = tiny_policy.log_probs(ids, mask), tiny_policy.reference_log_probs(ids, mask)
        assert not torch.allclose(moved, reference)
        assert not reference.requires_grad
        assert all(p.requires_grad for p in lora_b)  # disabling the adapter left it trainable
    finally:
        with torch.no_grad():
            for p, s in zip(lora_b, saved):
                p.copy_(s)


def test_adapter_export_is_a_peft_folder_that_loads_back(tiny_policy, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    folder = tiny_policy.save_adapter(tmp_path / "adapter")
    assert (folder / "adapter_config.json").exists() and (folder / "adapter_model.safetensors").exists()
    tiny_policy.save_adapter(folder)  # overwriting an export replaces it whole
    assert not list(tmp_path.glob(".adapter*"))
    base = AutoModelForCausalLM.from_pretrained(tiny_policy.model.peft_config["default"].base_model_name_or_path)
    loaded = PeftModel.from_pretrained(base, folder)
    ours = {n.replace(".default", ""): p for n, p in tiny_policy.model.named_parameters() if "lora_" in n}
    theirs = {n.replace(".default", ""): p for n, p in loaded.named_parameters() if "lora_" in n}
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)


def test_a_checkpoint_write_that_dies_leaves_the_previous_one_whole(tmp_path):
    io = AtomicCheckpointIO()
    path = tmp_path / "last.ckpt"
    io.save_checkpoint({"global_step": 2, "weights": torch.ones(3)}, path)

    class Unpicklable:
        def __reduce__(self):
            raise pickle.PicklingError("disk full, say")

    with pytest.raises(pickle.PicklingError):
        io.save_checkpoint({"global_step": 4, "weights": torch.zeros(10_000), "bad": Unpicklable()}, path)
    restored = io.load_checkpoint(path)
    assert restored["global_step"] == 2 and torch.equal(restored["weights"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]  # no half-written leftovers


def test_entropy_comes_with_the_log_probs_and_matches_the_softmax(tiny_policy):
    ids = torch.tensor([tiny_policy.tokenizer.encode("DIAGNOSIS: Asthma\nDIFFERENTIAL: Croup", add_special_tokens=False)])
    mask = torch.ones_like(ids)
    where = torch.zeros_like(ids[:, 1:], dtype=torch.bool)
    where[0, 2:5] = True
    logp, entropy = tiny_policy.log_probs_and_entropy(ids, mask, 0.7, where)
    assert torch.equal(logp, tiny_policy.log_probs(ids, mask, 0.7, where))  # the same numbers as before
    with torch.no_grad(), tiny_policy.autocast():  # the same precision as the policy's own pass
        logits = tiny_policy.model(input_ids=ids, attention_mask=mask).logits[0, :-1].float() / 0.7  # [T-1, V]
    expected = torch.distributions.Categorical(logits=logits).entropy()  # [T-1]
    assert entropy is not None and not entropy.requires_grad
    assert torch.allclose(entropy[0, 2:5], expected[2:5], atol=1e-4)
    assert entropy[0, :2].eq(0).all() and entropy[0, 5:].eq(0).all()  # off `where`: 0, like the log-probs
