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


def test_bench_touches_docs_only_with_update_docs(make_suite, tmp_path, monkeypatch):
    path = make_suite([{"model": {"name": "pop"}}])
    monkeypatch.chdir(tmp_path)
    docs = tmp_path / "docs" / "benchmarks.md"
    docs.parent.mkdir()
    docs.write_text("# Benchmarks\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["bench", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "results.json").is_file()
    assert docs.read_text(encoding="utf-8") == "# Benchmarks\n"
    assert list(docs.parent.iterdir()) == [docs]  # no plots written beside it
    result = CliRunner().invoke(
        app, ["bench", str(path), "--out", str(out), "--report-only", "--update-docs"]
    )
    assert result.exit_code == 0, result.output
    assert "bench:tiny" in docs.read_text(encoding="utf-8")
