"""ssl4rec.cli."""
