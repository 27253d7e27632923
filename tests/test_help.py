"""`fit --help` explains every knob of ours, and reading the configs imports no LiteLLM or model code."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("--model.", "--data.", "--adapter_export.", "--transcripts.")


def run(*args):
    env = os.environ | {"COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "grpodx", *args], capture_output=True, text=True, check=True, env=env, cwd=ROOT, timeout=600
    )


def imported(stderr: str) -> set[str]:
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def entries(help_text: str) -> dict[str, str]:
    """Option -> its help text (the lines after the option up to the next option or group)."""
    found: dict[str, str] = {}
    option = None
    for line in help_text.splitlines():
        match = re.match(r"^  (--\S+)(.*)$", line)
        if match:
            option, rest = match.group(1), match.group(2)
            found[option] = rest.strip()
        elif option and line.startswith("    "):
            found[option] += " " + line.strip()
        else:
            option = None
    return found


@pytest.mark.slow
def test_every_field_of_ours_has_its_docstring_in_fit_help():
    result = run("fit", "--help")
    options = {k: v for k, v in entries(result.stdout).items() if k.startswith(OURS) and not k.endswith(".help")}
    assert len(options) > 60, len(options)
    descriptions = {option: re.sub(r"\(type: .*$", "", re.sub(r"^[A-Z_\[\],.=]+\s*", "", text)).strip() for option, text in options.items()}
    assert not [option for option, text in descriptions.items() if not text], "options without a docstring"
    assert "Attempts per case; advantages compare them." in options["--model.rollout.group_size"]
    assert "Peak learning rate." in options["--model.optim.lr"]
    # group titles are whole first sentences, never a dataclass's generated signature
    titles = [line for line in result.stdout.splitlines() if re.match(r"^\S.*:$", line)]
    ours = [t for t in titles if re.search(r"(Config|Weights)\(|max_env_error_fraction|grpodx", t)]
    assert not ours, ours
    assert "The doctor trained by GRPO: its policy, patient, judge, rollout, update and reward settings:" in titles
    assert not imported(result.stderr) & {"litellm", "peft"}  # reading the configs needs neither


def test_cases_stats_imports_no_torch_lightning_or_litellm():
    result = run("cases", "stats", "builtin")
    assert "cases: " in result.stdout
    assert not imported(result.stderr) & {"torch", "lightning", "litellm", "transformers"}


def test_top_level_help_lists_every_command():
    from grpodx.cli import COMMANDS, TRAINER_COMMANDS

    out = subprocess.run([sys.executable, "-m", "grpodx", "--help"], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert all(re.search(rf"^  {name}\s", out, re.M) for name in [*TRAINER_COMMANDS, *COMMANDS])


def test_readme_examples_state_the_defaults():
    import inspect

    import yaml

    from grpodx.env import JudgeConfig, PatientConfig
    from grpodx.train.data import CaseDataModule

    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    data = next(yaml.safe_load(b)["data"] for b in blocks if b.startswith("data:"))
    model = next(yaml.safe_load(b)["model"] for b in blocks if b.startswith("model:") and "patient:" in b)
    defaults = {name: p.default for name, p in inspect.signature(CaseDataModule).parameters.items()}
    assert {k: v for k, v in data.items() if k != "sources"} == {k: defaults[k] for k in data if k != "sources"}
    for name, config in (("patient", PatientConfig()), ("judge", JudgeConfig())):
        assert model[name] == {k: getattr(config, k) for k in model[name]}, name


def test_a_missing_dependency_says_how_to_install_not_a_traceback():
    # as if the install step was skipped: the first import of a dependency fails
    code = "import sys; sys.modules['jsonargparse'] = None; from grpodx.cli import main; main(['fit', '--config', 'configs/tiny.yaml'])"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 1
    assert "grpodx: jsonargparse is not installed" in done.stderr and "torch==2.13.0" in done.stderr
    assert "Traceback" not in done.stderr


def test_help_grpodx_lists_our_knobs_alone_with_defaults():
    from dataclasses import fields

    from grpodx.run.knob_help import grpodx_help
    from grpodx.train.grpo import GRPOConfig

    text = grpodx_help()
    for f in fields(GRPOConfig):
        assert f"  --model.grpo.{f.name}=" in text, f.name
    assert "  --model.grpo.beta=0.04  Weight of the k3 KL" in text and "  --data.batch_size=4  cases per training step" in text
    assert "  --model.policy.lora.r=16  LoRA rank" in text  # nested groups are opened
    assert "--trainer." not in text.replace("(--trainer.*", "") and len(text.splitlines()) < 150
