"""grpodx commands beside training: chat, export, report and its statistics."""
