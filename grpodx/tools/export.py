"""`python -m grpodx export --ckpt CKPT --out DIR [--merge]`: a trained doctor for other tools.

Without --merge: a PEFT adapter folder (adapter_config.json, adapter_model.safetensors and the
tokenizer) for PEFT or vLLM. With --merge: the adapter folded into the base weights, a plain
model folder that `transformers.AutoModelForCausalLM.from_pretrained` loads without PEFT.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m grpodx export", description=__doc__.splitlines()[0].split(": ", 1)[1])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--ckpt", help="a fit checkpoint (checkpoints/last.ckpt)")
    source.add_argument("--adapter", help="a PEFT adapter folder (adapters/final), to merge")
    parser.add_argument("--out", required=True, help="the folder to write (replaced whole if it exists)")
    parser.add_argument("--merge", action="store_true", help="fold the adapter into the base weights")
    parser.add_argument("--cache-dir", help="policy.cache_dir (default: the checkpoint's, or ~/.cache/grpodx)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    from grpodx.policy.saved import open_doctor

    doctor = open_doctor(args.ckpt, args.adapter, None, cache_dir=args.cache_dir, precision="fp32")
    out = merge(doctor, args.out) if args.merge else doctor.save_adapter(args.out)
    print(f"wrote {'merged model' if args.merge else 'adapter'} to {out}")
    return 0


def merge(doctor, folder: str | Path) -> Path:
    """Write base + adapter as one plain model folder, atomically."""
    from grpodx.policy.policy import replace_dir

    if doctor.backend.name != "hf":
        raise ValueError("export --merge runs on the hf backend; merge an Unsloth adapter with `--adapter DIR` on hf")
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    merged = doctor.model.merge_and_unload()  # the doctor is not used afterwards: merging in place is fine
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-"))
    try:
        merged.save_pretrained(staging)
        doctor.tokenizer.save_pretrained(staging)
        replace_dir(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder
