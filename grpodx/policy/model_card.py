"""The README.md of an exported adapter: what it was trained from, on what, for how long, how well."""

from __future__ import annotations

import json
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
