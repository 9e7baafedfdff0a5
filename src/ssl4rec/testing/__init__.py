"""ssl4rec.testing."""
