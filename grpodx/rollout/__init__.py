"""grpodx rollouts: the turn loop, KV-cache decoding, the chat template and the dialogue protocol."""
