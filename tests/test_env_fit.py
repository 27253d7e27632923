"""`fit` end to end with patient and judge behind a local OpenAI-compatible server.

The same tiny recipe as `configs/tiny.yaml`, with only the model strings changed to
`openai/...` (plus `api_base`): a planted API key must reach the server but nowhere in the run
directory, and 30% injected server errors must be counted without stopping the run.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from grpodx.env.prompts import OPENING_PROMPT
from grpodx.testing.fake_server import FakeOpenAIServer

ROOT = Path(__file__).resolve().parents[1]
JUDGE_REPLY = json.dumps({"score": 0.5, "rationale": "partly right"})


def _reply(request: dict) -> str:
    return JUDGE_REPLY if request["model"] == "fake-judge" else "I'm not sure, doctor."


def _fit(tmp_path: Path, server: FakeOpenAIServer, cache: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "grpodx",
        "fit",
        "--config",
        "configs/tiny.yaml",
        f"--trainer.default_root_dir={tmp_path}",
        f"--model.policy.cache_dir={cache}",
        "--model.patient.model=openai/fake-patient",
        f"--model.patient.api_base={server.url}",
        "--model.judge.model=openai/fake-judge",
        f"--model.judge.api_base={server.url}",
        "--model.patient.retry_backoff=0.001",
        "--model.judge.retry_backoff=0.001",
        *args,
    ]
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=540)


def test_planted_api_keys_reach_the_server_but_not_the_run_directory(tmp_path: Path, model_cache: str) -> None:
    config_key, env_key = f"sk-planted-config-{uuid.uuid4().hex}", f"sk-planted-env-{uuid.uuid4().hex}"
    with FakeOpenAIServer(_reply) as server:
        run = _fit(
            tmp_path,
            server,
            model_cache,
            "--trainer.max_steps=2",
            "--trainer.val_check_interval=2",
            f"--model.patient.api_key={config_key}",
            env={"OPENAI_API_KEY": env_key},
        )
    assert run.returncode == 0, run.stderr[-3000:]
    sent = {h.get("authorization") for h in server.headers}
    assert {f"Bearer {config_key}", f"Bearer {env_key}"} <= sent  # patient from config, judge from env

    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"config.yaml", "hparams.yaml", "last.ckpt"} <= names and any(n.startswith("events.out.tfevents") for n in names)
    for path in files:
        data = path.read_bytes()
        assert config_key.encode() not in data and env_key.encode() not in data, f"API key written to {path}"
    assert "***" in (next(p for p in files if p.name == "config.yaml")).read_text()


@pytest.mark.slow
def test_thirty_percent_injected_failures_are_counted_and_the_run_completes(tmp_path: Path, model_cache: str) -> None:
    rng, lock = random.Random(0), threading.Lock()

    def flaky(request: dict) -> str | int:
        with lock:
            fail = rng.random() < 0.3
        return 500 if fail else _reply(request)

    with FakeOpenAIServer(flaky) as server:
        run = _fit(
            # The patient retries twice (a failed opening would sink a whole group); the judge
            # does not retry, so about 30% of judged episodes end as env_error. Eight episodes
            # a step keep that far below max_env_error_fraction.
            tmp_path,
            server,
            model_cache,
            "--trainer.max_steps=10",
            "--trainer.limit_val_batches=0",
            "--data.batch_size=4",
            "--model.rollout.group_size=2",
            "--model.max_env_error_fraction=0.9",
            "--model.patient.num_retries=2",
            "--model.judge.num_retries=0",
            env={"OPENAI_API_KEY": "sk-test"},
        )
    assert run.returncode == 0, run.stderr[-3000:]
    events = EventAccumulator(str(next(tmp_path.rglob("events.out.tfevents*")).parent))
    events.Reload()
    total = lambda tag: events.Scalars(tag)[-1].value  # noqa: E731
    assert len(events.Scalars("env/judge_failures")) == 10  # every step logged
    assert total("env_total/patient_retries") > 0
    assert total("env_total/judge_failures") > 0
    assert sum(s.value for s in events.Scalars("status/env_error")) > 0


def test_a_run_stopped_by_a_dead_patient_keeps_its_work_and_says_so_in_one_paragraph(tmp_path: Path, model_cache: str) -> None:
    """The patient server answers the first step (two cases: two openings), then dies: the second
    step stops the run, which writes last.ckpt (step 1) and the adapter, prints the resume command,
    and ends with one paragraph: no traceback, no LiteLLM 'Give Feedback' banner per failed call."""
    openings, lock = [0], threading.Lock()

    def dying(request: dict) -> str | int:
        if request["model"] == "fake-judge":
            return JUDGE_REPLY
        with lock:
            openings[0] += request["messages"][-1]["content"] == OPENING_PROMPT
            return _reply(request) if openings[0] <= 2 else 500

    with FakeOpenAIServer(dying) as server:
        run = _fit(
            tmp_path,
            server,
            model_cache,
            "--trainer.max_steps=4",
            "--trainer.limit_val_batches=0",
            "--model.patient.num_retries=0",
            env={"OPENAI_API_KEY": "sk-test"},
        )
    output = run.stdout + run.stderr
    assert run.returncode == 1, output[-3000:]
    assert "Traceback" not in output and "Give Feedback" not in output
    assert "error: the run stopped because the patient or judge kept failing" in run.stderr
    assert "resume with: python -m grpodx fit --config" in run.stdout
    last = next(tmp_path.rglob("last.ckpt"))
    import torch

    assert torch.load(last, map_location="cpu", weights_only=False)["global_step"] == 1
    assert any(p.name == "adapter_config.json" for p in (last.parent.parent / "adapters").rglob("*"))
