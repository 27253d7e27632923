"""grpodx training: the LightningModule, the GRPO loss, rewards, optimizer, data and the supervised warm-up."""
