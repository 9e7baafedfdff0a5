"""ssl4rec.text."""
