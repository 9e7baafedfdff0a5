"""Tests for ssl4rec.evaluation."""
