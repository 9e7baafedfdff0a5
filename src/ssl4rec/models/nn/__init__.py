"""ssl4rec.models.nn."""
