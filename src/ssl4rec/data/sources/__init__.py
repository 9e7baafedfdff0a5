"""ssl4rec.data.sources."""
