"""grpodx run infrastructure: the LightningCLI wiring, callbacks, results, metrics, run control, secrets and knobs."""
