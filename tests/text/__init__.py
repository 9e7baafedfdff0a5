"""Tests for ssl4rec.text."""
