"""ssl4rec.data."""
