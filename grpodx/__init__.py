"""grpodx: train a doctor LLM to diagnose through conversation, by self-play and GRPO."""

import os

# LiteLLM fetches its model price map from the internet at import time unless told otherwise;
# a trainer should start the same offline as online. Set it to "False" to fetch the live map.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

__version__ = "0.1.0"
