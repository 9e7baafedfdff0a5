"""ssl4rec.models."""
