"""`--model.seed` and `--data.seed` are independent: either alone used to crash after the model
loaded ("Error while merging hparams ... seed")."""

import json
from pathlib import Path

import pytest

from grpodx.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # three evaluations of the tiny model
@pytest.mark.parametrize("seeds", [("--data.seed=1",), ("--model.seed=1",), ("--model.seed=2", "--data.seed=3")])
def test_either_seed_alone_runs(tmp_path, model_cache, seeds):
    main(
        [
            "test",
            "--config",
            str(ROOT / "configs" / "tiny.yaml"),
            f"--trainer.default_root_dir={tmp_path}",
            f"--model.policy.cache_dir={model_cache}",
            "--trainer.enable_progress_bar=false",
            "--data.max_eval_cases=1",
            "--model.rollout.max_turns=1",
            *seeds,
        ]
    )
    folder = next((tmp_path / "evaluations").glob("test_*"))  # an evaluation of no run lands in DIR/evaluations/
    result = json.loads((folder / "results" / "test.json").read_text())
    assert result["episodes"] == 1 and result["seed"] == (2 if "--model.seed=2" in seeds else 1 if "--model.seed=1" in seeds else 0)
