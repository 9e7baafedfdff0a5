"""ssl4rec.bench."""
