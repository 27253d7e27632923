"""GRPO learns: with a trivially learnable reward, the rewarded answer becomes clearly more likely.

The environment is replaced by a one-token game (the doctor's first token is rewarded when it is
one of a fixed set of answers), but advantages, packing, masking, the clipped loss, the KL term
and the optimizer step are the module's own. A wrong sign, a broken group baseline or a mask
shifted off the sampled token would leave the probability flat or push it down.
"""

from pathlib import Path

import lightning as L
import torch

from grpodx.data import CaseDataModule
from grpodx.module import DoctorGRPO, GRPOConfig, OptimConfig
from grpodx.policy import LoraConfig, PolicyConfig
from grpodx.rollout import Episode, RolloutConfig
from grpodx.tiny import resolve_model_path


def random_phi3(folder: Path, model_cache: str) -> str:
    """A freshly initialised tiny Phi-3 with the tiny model's tokenizer: near-uniform outputs."""
    from transformers import AutoConfig, AutoTokenizer, Phi3ForCausalLM

    source = resolve_model_path("grpodx/tiny-phi3", model_cache)
    torch.manual_seed(0)
    Phi3ForCausalLM(AutoConfig.from_pretrained(source)).save_pretrained(folder)
    AutoTokenizer.from_pretrained(source).save_pretrained(folder)
    return str(folder)


class FirstTokenGame(DoctorGRPO):
    """Reward 1 when the first sampled token is in `answers`, else 0."""

    answers: set[int] = set()

    def prompt(self, case):
        return self.engine.chat.prompt_ids([{"role": "user", "content": case.chief_complaint}])

    def roll_out(self, cases, group_size, temperature):
        prompts = [self.prompt(case) for case in cases for _ in range(group_size)]
        samples = self.policy.generate(prompts, max_new_tokens=2, temperature=temperature)
        episodes = []
        for i, (prompt, ids) in enumerate(zip(prompts, samples)):
            e = Episode(case=cases[i // group_size], group=i // group_size, seed=0, messages=[], status="diagnosed")
            e.append(prompt, doctor=False)
            e.append(ids, doctor=True)
            e.turns_ok = [True]
            episodes.append(e)
        return episodes

    def score(self, episodes):
        for e in episodes:
            first = e.token_ids[e.doctor_mask.index(1)]
            e.reward = float(first in self.answers)
            e.parts = {"credit": e.reward, "format": 1.0, "questions": 0.0, "process": 0.0}

    def answer_probability(self, prompt: list[int]) -> float:
        ids = torch.tensor([prompt])
        with torch.no_grad():
            logits = self.policy.model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0, -1]
        return float(torch.softmax(logits.float(), -1)[sorted(self.answers)].sum())


def test_grpo_raises_the_probability_of_the_rewarded_answer(tmp_path, model_cache):
    model = FirstTokenGame(
        policy=PolicyConfig(model=random_phi3(tmp_path / "random", model_cache), lora=LoraConfig(r=8, alpha=16), max_seq_len=512),
        rollout=RolloutConfig(group_size=8, max_turns=1, max_new_tokens=2),
        grpo=GRPOConfig(micro_batch_size=32, beta=0.01),
        optim=OptimConfig(lr=5e-3),
    )
    vocab = len(model.policy.tokenizer)
    FirstTokenGame.answers = {t for t in range(vocab) if t % 8 == 3}  # one token in eight
    data = CaseDataModule(batch_size=4, variants_per_disease=1, max_eval_cases=1)
    data.setup("fit")
    probe = data.train_cases[0]
    model.setup("fit")
    probe = model.prompt(probe)
    before = model.answer_probability(probe)
    trainer = L.Trainer(
        max_steps=30, accelerator="cpu", logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
    )
    trainer.fit(model, datamodule=data)
    after = model.answer_probability(probe)
    print(f"P(rewarded answer): {before:.3f} -> {after:.3f}")
    assert 0.05 < before < 0.25  # near-uniform start: about one in eight
    assert after > 0.5 and after > 3 * before
