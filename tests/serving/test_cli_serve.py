"""``ssl4rec serve``: help text, and a bad model folder fails before binding a port."""

from __future__ import annotations

from typer.testing import CliRunner

from ssl4rec.cli.main import app


def test_serve_help_lists_options() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--model", "--host", "--port", "--db", "--api-key"):
        assert option in result.output


def test_serve_missing_model_names_the_folder(tmp_path) -> None:
    result = CliRunner().invoke(app, ["serve", "--model", str(tmp_path / "missing")])
    assert result.exit_code != 0
    assert "missing" in str(result.exception)


def test_serve_corrupt_model_names_the_file(ease_model, tmp_path) -> None:
    folder = ease_model.save(tmp_path / "m")
    (folder / "vocab.json").write_text("{broken")
    result = CliRunner().invoke(app, ["serve", "--model", str(folder)])
    assert result.exit_code != 0
    assert "vocab.json" in str(result.exception)
