"""API keys never reach a saved config, hyperparameters or a printed config object."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch
import yaml
from jsonargparse import Namespace
from lightning.pytorch.cli import LightningArgumentParser

from grpodx.cli import main
from grpodx.env import JudgeConfig, PatientConfig
from grpodx.run.secrets import MASK, RedactingSaveConfigCallback, is_secret_name, redact

KEY = "sk-planted0123456789abcdefXYZ"
ROOT = Path(__file__).resolve().parents[1]


def test_secret_names() -> None:
    assert all(is_secret_name(n) for n in ("api_key", "OPENAI_API_KEY", "hf_token", "password", "client-secret"))
    assert not any(is_secret_name(n) for n in ("max_tokens", "prompt_tokens", "model", "api_base", "tokenizer"))


def test_redact_walks_nested_structures() -> None:
    config = {
        "model": {"patient": {"model": "openai/gpt-4o-mini", "api_key": KEY, "max_tokens": 200}, "judge": {"api_key": None}},
        "notes": ["plain", KEY],
        "run": Namespace(token="abc", steps=3),
    }
    clean = redact(config)
    assert clean["model"]["patient"] == {"model": "openai/gpt-4o-mini", "api_key": MASK, "max_tokens": 200}
    assert clean["model"]["judge"]["api_key"] is None
    assert clean["notes"] == ["plain", MASK]
    assert clean["run"] == Namespace(token=MASK, steps=3)
    assert config["model"]["patient"]["api_key"] == KEY  # a copy: the run keeps its key


def test_config_objects_hide_the_key() -> None:
    patient, judge = PatientConfig(model="openai/gpt-4o-mini", api_key=KEY), JudgeConfig(api_key=KEY)
    assert KEY not in repr(patient) and KEY not in repr(judge) and KEY not in str(patient)
    assert redact(patient)["api_key"] == MASK and redact(judge)["model"] == "grpodx/rubric-judge"


class _Tiny(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(1, 1)


def test_redacting_save_config_callback_writes_no_key(tmp_path: Path) -> None:
    parser = LightningArgumentParser()
    parser.add_argument("--patient", type=PatientConfig, default=PatientConfig())
    config = parser.parse_args(["--patient.model=openai/gpt-4o-mini", f"--patient.api_key={KEY}"])
    trainer = pl.Trainer(default_root_dir=tmp_path, logger=False, enable_checkpointing=False, enable_progress_bar=False)
    callback = RedactingSaveConfigCallback(parser, config, overwrite=True)
    callback.setup(trainer, _Tiny(), "fit")
    written = (Path(trainer.log_dir) / "config.yaml").read_text()
    assert "openai/gpt-4o-mini" in written and MASK in written and KEY not in written
    assert config.patient.api_key == KEY


def test_a_masked_key_is_refused_naming_the_variable_to_set() -> None:
    from grpodx.env.config import MASKED_KEY
    from grpodx.run.knobs import ConfigError

    assert MASKED_KEY == MASK
    with pytest.raises(ConfigError, match=r"model\.judge\.api_key .*set OPENAI_API_KEY"):
        JudgeConfig(model="openai/gpt-4o-mini", api_key=MASK)


def test_a_saved_config_with_a_masked_key_stops_before_any_model_loads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The run's config.yaml, reused as documented (`test --config RUN/config.yaml`), used to send 'Bearer ***'."""
    saved = yaml.safe_load((ROOT / "configs" / "tiny.yaml").read_text())
    saved["model"]["judge"] = {"model": "anthropic/claude-3-5-haiku", "api_key": MASK}
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(saved))
    with pytest.raises(SystemExit) as stop:
        main(["test", "--config", str(config), f"--trainer.default_root_dir={tmp_path}"])
    assert stop.value.code == 2
    assert "ANTHROPIC_API_KEY" in capsys.readouterr().err and not (tmp_path / "lightning_logs").exists()


def test_print_config_masks_keys(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(
            ["fit", "--config", str(ROOT / "configs" / "tiny.yaml"), "--model.judge.model=openai/gpt-4o-mini", f"--model.judge.api_key={KEY}", "--print_config"]
        )
    printed = capsys.readouterr().out
    assert "openai/gpt-4o-mini" in printed and KEY not in printed and MASK in printed
