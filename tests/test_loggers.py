"""Transcripts reach W&B (offline) and MLflow (a local file store) too, not only TensorBoard."""

import json
import os

import pytest
from lightning.pytorch.loggers import CSVLogger, MLFlowLogger, TensorBoardLogger, WandbLogger

from grpodx.run.callbacks import log_transcripts

TEXTS = ["**doctor:** Any fever?  \n**patient:** Yes.", "**doctor:** DIAGNOSIS: Asthma"]


def test_wandb_offline_keeps_transcripts_as_a_table(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    logger = WandbLogger(save_dir=str(tmp_path), offline=True, project="grpodx-test")
    try:
        assert log_transcripts([logger], "transcripts/val", TEXTS, step=4) == []
    finally:
        logger.experiment.finish()
    tables = list(tmp_path.glob("wandb/offline-run-*/files/media/table/transcripts/val_*.table.json"))
    assert len(tables) == 1, sorted(str(p) for p in tmp_path.rglob("*"))
    table = json.loads(tables[0].read_text())
    assert table["columns"] == ["step", "index", "transcript"] and table["data"] == [[4, 0, TEXTS[0]], [4, 1, TEXTS[1]]]


def test_mlflow_keeps_transcripts_as_artifacts(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # a local file store: no server, no database
    logger = MLFlowLogger(experiment_name="grpodx-test", tracking_uri=f"file:{tmp_path / 'mlruns'}")
    assert log_transcripts([logger], "transcripts/train", TEXTS, step=10) == []
    artifacts = tmp_path / "mlruns" / logger.experiment_id / logger.run_id / "artifacts" / "transcripts" / "train"
    assert sorted(p.name for p in artifacts.iterdir()) == ["step_000010_0.md", "step_000010_1.md"]
    assert (artifacts / "step_000010_1.md").read_text() == TEXTS[1]


def test_tensorboard_gets_text_and_a_logger_without_text_is_named(tmp_path):
    from tests.run_helpers import scalars

    board = TensorBoardLogger(save_dir=str(tmp_path), name="tb", version=0)
    assert log_transcripts([board, CSVLogger(save_dir=str(tmp_path))], "transcripts/test", TEXTS, step=0) == ["CSVLogger"]
    board.experiment.flush()
    assert {"transcripts/test/0/text_summary", "transcripts/test/1/text_summary"} <= set(scalars(tmp_path / "tb" / "version_0")["__text__"])


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    monkeypatch.setenv("WANDB_DISABLE_GIT", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "")
    os.environ.pop("WANDB_API_KEY", None)
