import os

# No network in tests: LiteLLM must use its bundled cost map, transformers the local cache only.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
