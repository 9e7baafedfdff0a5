"""ssl4rec.serving."""
