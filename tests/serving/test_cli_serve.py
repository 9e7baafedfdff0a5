"""``ssl4rec serve``: help text, and a bad model folder fails before binding a port."""

from __future__ import annotations

from typer.testing import CliRunner

from ssl4rec.cli.main import app


def test_serve_help_lists_options() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--model", "--host", "--port", "--db", "--api-key-file", "--allow-open-writes"):
        assert option in result.output


def test_serve_refuses_a_key_on_the_command_line(tmp_path) -> None:
    result = CliRunner().invoke(app, ["serve", "--model", str(tmp_path), "--api-key", "s3cret"])
    assert result.exit_code != 0
    assert "--api-key was removed" in str(result.exception)


def test_serve_refuses_open_writes_on_a_public_address(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SSL4REC_API_KEY", raising=False)
    result = CliRunner().invoke(app, ["serve", "--model", str(tmp_path), "--host", "0.0.0.0"])
    assert result.exit_code != 0
    assert "--allow-open-writes" in str(result.exception)


def test_serve_refuses_scheduled_updates_of_an_onnx_graph(tmp_path) -> None:
    args = ["serve", "--model", str(tmp_path), "--backend", "onnx", "--update-every", "10m"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0
    assert "--update-every needs the torch backend" in str(result.exception)


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
