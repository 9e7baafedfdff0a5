"""ssl4rec.training."""
