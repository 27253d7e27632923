"""grpodx test helpers that ship with the package: a fake OpenAI-compatible server."""
