"""`python -m grpodx export --ckpt CKPT --out DIR [--merge]`: a trained doctor for other tools.

Without --merge: a PEFT adapter folder (adapter_config.json, adapter_model.safetensors and the
tokenizer) for PEFT or vLLM. With --merge: the adapter folded into the base weights, a plain
model folder that `transformers.AutoModelForCausalLM.from_pretrained` loads without PEFT.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from grpodx.policy.model_card import AdapterCard, merged_markdown
from grpodx.run.files import staging_dir


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m grpodx export", description=__doc__.splitlines()[0].split(": ", 1)[1])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--ckpt", help="a fit checkpoint (checkpoints/last.ckpt)")
    source.add_argument("--adapter", help="a PEFT adapter folder (adapters/final), to merge")
    parser.add_argument("--out", required=True, help="the folder to write (replaced whole if it exists)")
    parser.add_argument("--merge", action="store_true", help="fold the adapter into the base weights")
    parser.add_argument("--cache-dir", help="policy.cache_dir (default: the checkpoint's, or $XDG_CACHE_HOME/grpodx, else ~/.cache/grpodx)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    from grpodx.policy.saved import open_doctor

    doctor = open_doctor(args.ckpt, args.adapter, None, cache_dir=args.cache_dir, precision="fp32")
    card = source_card(args.ckpt, args.adapter, doctor.config.model)
    out = merge(doctor, args.out, card) if args.merge else doctor.save_adapter(args.out, card)
    print(f"wrote {'merged model' if args.merge else 'adapter'} to {out}")
    return 0


def source_card(ckpt: str | None, adapter: str | None, base_model: str) -> AdapterCard:
    """What the exported model was trained from, on what, how long: read from the checkpoint and
    its run, or from the adapter folder's own card (written when the run exported it)."""
    from grpodx.policy.saved import checkpoint_card

    if ckpt:
        return checkpoint_card(ckpt)
    readme = Path(adapter or "") / "README.md"
    return AdapterCard.from_markdown(readme.read_text(encoding="utf-8"), base_model) if readme.is_file() else AdapterCard(base_model=base_model)


def merge(doctor, folder: str | Path, card: AdapterCard | None = None) -> Path:
    """Write base + adapter as one plain model folder with its model card, atomically."""
    from grpodx.policy.policy import replace_dir

    if doctor.backend.name != "hf":
        raise ValueError("export --merge runs on the hf backend; merge an Unsloth adapter with `--adapter DIR` on hf")
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    merged = doctor.model.merge_and_unload()  # the doctor is not used afterwards: merging in place is fine
    staging = staging_dir(folder)
    try:
        merged.save_pretrained(staging)
        doctor.tokenizer.save_pretrained(staging)
        (staging / "README.md").write_text(merged_markdown(card or AdapterCard(base_model=doctor.config.model)), encoding="utf-8")
        replace_dir(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder
