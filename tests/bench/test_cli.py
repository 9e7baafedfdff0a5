"""``ssl4rec bench`` on the command line."""

from __future__ import annotations

from typer.testing import CliRunner

import pytest

from ssl4rec.cli.main import app
from ssl4rec.errors import ConfigError


def test_bench_help_lists_options():
    result = CliRunner().invoke(app, ["bench", "--help"])
    assert result.exit_code == 0
    for option in ("--seeds", "--out", "--peer", "--models", "--report-only"):
        assert option in result.output


def test_bench_rejects_bad_suite_before_running(make_suite, tmp_path):
    path = make_suite([{"model": {"name": "nope"}}])
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["bench", str(path), "--out", str(out), "--no-docs"])
    assert isinstance(result.exception, ConfigError)
    assert "models[0] (nope)" in str(result.exception)
    assert not out.exists()


def test_bench_report_only_needs_results(make_suite, tmp_path):
    path = make_suite()
    result = CliRunner().invoke(
        app, ["bench", str(path), "--out", str(tmp_path / "none"), "--report-only", "--no-docs"]
    )
    assert isinstance(result.exception, ConfigError)
    with pytest.raises(ConfigError):
        raise result.exception
