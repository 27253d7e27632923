"""GRPO learns: with a trivially learnable reward, the rewarded answer becomes clearly more likely.

The environment is replaced by a one-turn game: the tiny doctor opens its reasoning either with
"likely ..." (a guess) or "ask about ..."; whichever of the two it starts out preferring less
is the rewarded answer. Advantages, packing, masking, the clipped loss, the KL term and the
optimizer step are the module's own. A wrong sign, a broken group baseline or a mask shifted off
the sampled tokens would leave the probability flat or push it down.
"""

import lightning as L
import pytest
import torch

from grpodx.policy.policy import LoraConfig, PolicyConfig
from grpodx.rollout.dialogue import system_prompt
from grpodx.rollout.engine import RolloutConfig
from grpodx.rollout.template import ChatTokens
from grpodx.train.data import CaseDataModule
from grpodx.train.grpo import GRPOConfig
from grpodx.train.module import DoctorGRPO
from grpodx.train.optim import OptimConfig
from grpodx.types import Episode, RewardParts

OPENINGS = ("<reason>a", "<reason>l")  # "ask about ..." or "likely ..."


class OpeningGame(DoctorGRPO):
    """Reward 1 when the doctor's reply starts with `rewarded`, else 0."""

    rewarded = OPENINGS[0]

    def prompt(self, complaint: str) -> list[int]:
        return ChatTokens(self.policy.tokenizer, self.policy.stop_ids).prompt_ids(
            [{"role": "system", "content": system_prompt(5)}, {"role": "user", "content": complaint}]
        )

    def roll_out(self, cases, group_size, temperature):
        prompts = [self.prompt(case.chief_complaint) for case in cases for _ in range(group_size)]
        samples = self.policy.generate(prompts, max_new_tokens=6, temperature=temperature)
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
            sampled = [t for t, m in zip(e.token_ids, e.doctor_mask) if m]
            e.reward = float(self.policy.tokenizer.decode(sampled).startswith(self.rewarded))
            e.parts = RewardParts(judged=e.reward, format=1.0, questions=0.0, credit=e.reward, process=0.0)

    def opening_probability(self, prompt: list[int], opening: str) -> float:
        """P(the reply starts with `opening`) given that it starts with '<reason>', from the logits."""
        tokenizer = self.policy.tokenizer
        ids = torch.tensor([prompt + tokenizer.encode("<reason>", add_special_tokens=False)])
        with torch.no_grad():
            probs = torch.softmax(self.policy.model(input_ids=ids).logits[0, -1].float(), -1)
        letter = opening.removeprefix("<reason>")
        return float(probs[[t for t in range(len(tokenizer)) if tokenizer.decode([t]).startswith(letter)]].sum())


@pytest.mark.slow  # 20 training steps
def test_grpo_raises_the_probability_of_the_rewarded_answer(model_cache):
    model = OpeningGame(
        policy=PolicyConfig(cache_dir=model_cache, lora=LoraConfig(r=8, alpha=16), max_seq_len=512),
        rollout=RolloutConfig(group_size=8, max_turns=1, max_new_tokens=6),
        grpo=GRPOConfig(micro_batch_size=16, beta=0.01),
        optim=OptimConfig(lr=3e-3),
    )
    data = CaseDataModule(batch_size=2, variants_per_disease=1, max_eval_cases=1)
    probe = model.prompt("I've had a bad headache since this morning.")
    model.rewarded = min(OPENINGS, key=lambda opening: model.opening_probability(probe, opening))
    before = model.opening_probability(probe, model.rewarded)
    trainer = L.Trainer(
        max_steps=20,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
    )
    trainer.fit(model, datamodule=data)
    after = model.opening_probability(probe, model.rewarded)
    print(f"P(rewarded answer {model.rewarded!r}): {before:.3f} -> {after:.3f}")
    assert 0.02 < before < 0.5  # the less likely of two live openings
    assert after > 0.9
