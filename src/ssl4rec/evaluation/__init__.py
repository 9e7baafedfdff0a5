"""ssl4rec.evaluation."""
