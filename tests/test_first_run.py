"""A newcomer's first run: the cache honours XDG_CACHE_HOME, slow first-run work is announced
before it starts, written files have normal permissions, evaluations land in their run."""

import os
import stat
from pathlib import Path

from grpodx.policy import tiny
from grpodx.policy.policy import PolicyConfig
from grpodx.run.files import staging_dir, staging_file
from grpodx.run.outputs import command_logger, next_name, run_of


def test_the_model_cache_follows_xdg_cache_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert PolicyConfig().cache_dir == str(tmp_path / "grpodx")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert PolicyConfig().cache_dir == "~/.cache/grpodx"


def test_building_the_tiny_model_is_announced_before_it_starts(monkeypatch, tmp_path, capsys):
    said_before: list[str] = []

    def build(folder: Path) -> None:  # stands in for the 20 s build: what matters is what was said first
        said_before.append(capsys.readouterr().err)
        folder.mkdir(parents=True)
        (folder / "config.json").write_text("{}")

    monkeypatch.setattr(tiny, "build_tiny_model", build)
    folder = tiny.tiny_model_folder(tmp_path)
    (line,) = said_before[0].splitlines()
    assert line.startswith("grpodx: building the tiny test model") and "about 20 s to 2 minutes" in line and str(folder) in line
    tiny.tiny_model_folder(tmp_path)  # cached: nothing to announce
    assert capsys.readouterr().err == "" and len(said_before) == 1


def test_staging_folders_and_files_get_the_permissions_of_a_normal_write(tmp_path):
    umask = os.umask(0o022)
    try:
        folder = staging_dir(tmp_path / "model")
        handle, file = staging_file(tmp_path / "last.ckpt")
        os.close(handle)
        assert stat.S_IMODE(folder.stat().st_mode) == 0o755  # mkdtemp alone: 0700
        assert stat.S_IMODE(file.stat().st_mode) == 0o644  # mkstemp alone: 0600
    finally:
        os.umask(umask)


def test_an_evaluation_of_a_run_lands_inside_that_run(tmp_path):
    run = tmp_path / "lightning_logs" / "version_3"
    (run / "checkpoints").mkdir(parents=True)
    (run / "hparams.yaml").write_text("{}")
    assert run_of(str(run / "checkpoints" / "last.ckpt"), None) == run
    assert run_of(None, str(run / "adapters" / "final")) == run
    assert run_of(str(tmp_path / "elsewhere.ckpt"), None) is None
    logger = command_logger("test", tmp_path, str(run / "checkpoints" / "last.ckpt"))
    assert Path(logger.log_dir) == run / "evaluations" / "test_0"
    (run / "evaluations" / "test_0").mkdir(parents=True)
    (run / "evaluations" / "test_7").mkdir()
    assert next_name(run / "evaluations", "test") == "test_8" and next_name(run / "evaluations", "predict") == "predict_0"
    given = command_logger("test", tmp_path / "elsewhere", str(run / "checkpoints" / "last.ckpt"), root_given=True)
    assert Path(given.log_dir) == tmp_path / "elsewhere" / "evaluations" / "test_0"  # --trainer.default_root_dir wins
    base_model = command_logger("validate", tmp_path)  # no run: beside lightning_logs, not in it
    assert Path(base_model.log_dir) == tmp_path / "evaluations" / "validate_0"
    fit = command_logger("fit", tmp_path)
    assert Path(fit.log_dir).parent == tmp_path / "lightning_logs"
