"""grpodx the doctor model: loading, backends, the model resolver, the tiny model and saved adapters."""
