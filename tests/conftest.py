"""Keep tests offline: LiteLLM must use its bundled price map, the hub must not be contacted."""

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
