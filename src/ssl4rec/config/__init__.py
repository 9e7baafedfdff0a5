"""ssl4rec.config."""
