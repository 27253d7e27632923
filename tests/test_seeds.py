"""`--model.seed` and `--data.seed` are independent: either alone used to crash after the model
loaded ("Error while merging hparams ... seed")."""

import json

import pytest

from tests.run_helpers import evaluate_tiny


@pytest.mark.slow  # three evaluations of the tiny model
@pytest.mark.parametrize("seeds", [("--data.seed=1",), ("--model.seed=1",), ("--model.seed=2", "--data.seed=3")])
def test_either_seed_alone_runs(tmp_path, model_cache, seeds):
    folder = evaluate_tiny(tmp_path, model_cache, "--data.max_eval_cases=1", "--model.rollout.max_turns=1", *seeds)
    result = json.loads((folder / "results" / "test.json").read_text())
    assert result["episodes"] == 1 and result["seed"] == (2 if "--model.seed=2" in seeds else 1 if "--model.seed=1" in seeds else 0)
