"""Every config check raises `ConfigError` in one style: `<yaml key> must be <rule>, got <value>`."""

from __future__ import annotations

import pytest

from grpodx.rollout.engine import RolloutConfig
from grpodx.run.callbacks import AdapterExport, TranscriptLogger
from grpodx.run.knobs import ConfigError
from grpodx.run.results import ResultsWriter
from grpodx.train.data import CaseDataModule
from grpodx.train.warmup import WarmUp

BAD = [
    (lambda: AdapterExport(save_steps=0), "adapter_export.save_steps must be >= 1, got 0"),
    (lambda: TranscriptLogger(num_transcripts=-1), "transcripts.num_transcripts must be >= 0, got -1"),
    (lambda: ResultsWriter(train_every_n_steps=-2), "results.train_every_n_steps must be >= 0 (0: never), got -2"),
    (lambda: WarmUp(lr=0.0), "warmup.lr must be > 0, got 0.0"),
    (lambda: WarmUp(min_questions=3, max_questions=2), "warmup.max_questions must be >= warmup.min_questions, got 2"),
    (
        lambda: RolloutConfig(eval_samples=2),
        "model.rollout.eval_samples must be >= 1, and 1 with greedy decoding (eval_temperature 0; set one > 0 for more), got 2",
    ),
    (lambda: RolloutConfig(eval_samples=0, eval_temperature=1.0), "model.rollout.eval_samples must be >= 1, and 1 with greedy decoding"),
    (lambda: CaseDataModule(split_by="disease"), "data.split_by must be 'case' or 'diagnosis', got 'disease'"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize("build, message", BAD, ids=[m.split(" must")[0] for _, m in BAD])
def test_config_checks_name_the_key_and_the_value(build, message):
    with pytest.raises(ConfigError) as raised:
        build()
    assert str(raised.value).startswith(message)
