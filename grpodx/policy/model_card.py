"""The README.md of an exported adapter: what it was trained from, on what, for how long, how well."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class AdapterCard:
    base_model: str
    """The model id or folder the user gave (`model.policy.model`), never a cache path."""
    steps: int = 0
    """Optimizer steps trained."""
    data: list[str] = field(default_factory=list)
    """The case sources (`data.sources`)."""
    metrics: dict[str, float] = field(default_factory=dict)
    """The latest logged values, e.g. val/accuracy, train/reward."""

    @classmethod
    def from_markdown(cls, text: str, base_model: str) -> AdapterCard:
        """Read back the facts `markdown` wrote (an adapter folder's README.md), for re-export."""
        card = cls(base_model=base_model)
        for line in text.splitlines():
            if line.startswith("- Training data: ") and "`" in line:
                card.data = re.findall(r"`([^`]+)`", line)
            elif line.startswith("- Optimizer steps: "):
                card.steps = int(line.rsplit(" ", 1)[1])
            elif (row := re.fullmatch(r"\| (\S+) \| (\S+) \|", line)) and row[1] != "metric":
                card.metrics[row[1]] = float(row[2])
        return card

    def markdown(self) -> str:
        lines = [
            "---",
            f"base_model: {json.dumps(self.base_model)}",
            "library_name: peft",
            "tags: [lora, grpo, grpodx]",
            "---",
            "",
            f"# grpodx doctor adapter for {self.base_model}",
            "",
            "A LoRA adapter trained with GRPO by grpodx to diagnose through conversation: it interviews a",
            "simulated patient, thinking in `<reason>...</reason>`, and ends with `DIAGNOSIS: ...`.",
            "",
            f"- Base model: `{self.base_model}`",
            f"- Training data: {', '.join(f'`{s}`' for s in self.data) or 'not recorded'}",
            f"- Optimizer steps: {self.steps}",
            "",
            "## Metrics (latest logged)",
            "",
        ]
        table = [f"| {name} | {value:.4g} |" for name, value in sorted(self.metrics.items())]
        lines += ["| metric | value |", "|---|---|", *table] if table else ["none logged yet"]
        lines += [
            "",
            "## Use",
            "",
            "```python",
            "from peft import PeftModel",
            "model = PeftModel.from_pretrained(base, 'path/to/this/folder')  # base: the model above",
            "```",
            "",
        ]
        return "\n".join(lines)


def merged_markdown(card: AdapterCard) -> str:
    """The README.md of a merged model folder: the adapter card's facts, and how to prompt it."""
    facts = card.markdown().split("## Metrics", 1)[1].split("## Use", 1)[0]
    lines = [
        "---",
        f"base_model: {json.dumps(card.base_model)}",
        "library_name: transformers",
        "tags: [grpo, grpodx, merged-lora]",
        "---",
        "",
        f"# grpodx doctor: {card.base_model} with its GRPO adapter merged",
        "",
        "A plain transformers model: the base model's weights with grpodx's LoRA adapter folded in.",
        "It was trained to diagnose through conversation, and it expects grpodx's own system prompt",
        "(the interview rules, the `<reason>...</reason>` thinking and the `DIAGNOSIS:` /",
        "`DIFFERENTIAL:` lines it ends with); without it, it behaves much like the base model.",
        "",
        f"- Base model: `{card.base_model}`",
        f"- Training data: {', '.join(f'`{s}`' for s in card.data) or 'not recorded'}",
        f"- Optimizer steps: {card.steps}",
        "",
        "## Metrics (latest logged)",
        facts.rstrip(),
        "",
        "## Use",
        "",
        "```python",
        "from transformers import AutoModelForCausalLM, AutoTokenizer",
        "from grpodx.rollout.dialogue import system_prompt  # pip install grpodx (this repository)",
        "",
        "tokenizer = AutoTokenizer.from_pretrained('path/to/this/folder')",
        "model = AutoModelForCausalLM.from_pretrained('path/to/this/folder')",
        "messages = [",
        "    {'role': 'system', 'content': system_prompt(max_turns=5)},  # the turns the doctor may take",
        "    {'role': 'user', 'content': 'I have had a cough and a fever for three days.'},  # the patient",
        "]",
        "ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors='pt')",
        "print(tokenizer.decode(model.generate(ids, max_new_tokens=256)[0, ids.shape[1]:], skip_special_tokens=True))",
        "```",
        "",
        "Or talk to it as its patient: `python -m grpodx chat --model path/to/this/folder`.",
        "",
    ]
    return "\n".join(lines)


def write_card(folder: str | Path, card: AdapterCard) -> None:
    """Write README.md (replacing PEFT's empty template) and record the user's model id in
    adapter_config.json's `base_model_name_or_path`, which PEFT fills with the load path."""
    folder = Path(folder)
    (folder / "README.md").write_text(card.markdown(), encoding="utf-8")
    config_path = folder / "adapter_config.json"
    if config_path.exists():
        config = json.loads(config_path.read_text(encoding="utf-8"))
        config["base_model_name_or_path"] = card.base_model
        config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
