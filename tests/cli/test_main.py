import json
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

import pytest

from ssl4rec.cli.main import app


def test_help_does_not_import_torch():
    code = textwrap.dedent(
        """
        import sys
        from typer.testing import CliRunner
        from ssl4rec.cli.main import app
        result = CliRunner().invoke(app, ["--help"])
        assert result.exit_code == 0, result.output
        assert "quickstart" in result.output
        print("torch" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


ROOT = Path(__file__).resolve().parents[2]
# the shipped experiment YAMLs (at the repository root or inside the package)
SHIPPED = sorted([*ROOT.glob("configs/*.yaml"), *ROOT.glob("src/ssl4rec/configs/*.yaml")])


def _invoke_in_fresh_process(args: list[str]) -> dict[str, object]:
    """Run the CLI with ``args`` in a new interpreter; report the result and torch's presence."""
    code = textwrap.dedent(
        """
        import json, sys
        from typer.testing import CliRunner
        from ssl4rec.cli.main import app
        result = CliRunner().invoke(app, json.loads(sys.argv[1]))
        print(json.dumps({
            "exit_code": result.exit_code,
            "output": result.output,
            "exception": repr(result.exception),
            "torch": "torch" in sys.modules,
        }))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(args)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _shipped(name: str) -> Path:
    found = [p for p in SHIPPED if p.name == name]
    assert found, f"no shipped config {name} among {[p.name for p in SHIPPED]}"
    return found[0]


def test_config_show_does_not_import_torch():
    result = _invoke_in_fresh_process(["config", "show", str(_shipped("ease-ml100k.yaml"))])
    assert result["exit_code"] == 0, result
    assert "name: ease" in str(result["output"])
    assert result["torch"] is False


def test_config_validate_does_not_import_torch():
    # every shipped config, the Transformer models' among them: no config class needs torch
    assert len(SHIPPED) >= 10
    result = _invoke_in_fresh_process(["config", "validate", *map(str, SHIPPED)])
    assert result["exit_code"] == 0, result
    assert str(result["output"]).count("ok: ") == len(SHIPPED)
    assert result["torch"] is False


def test_train_with_a_config_error_does_not_import_torch(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  name: sasrec\n  max_seq_lenn: 20\n", encoding="utf-8")
    result = _invoke_in_fresh_process(["train", "--config", str(bad), "--out", str(tmp_path / "run")])
    assert result["exit_code"] != 0
    assert "ConfigError" in str(result["exception"])
    assert "max_seq_lenn" in str(result["exception"])
    assert result["torch"] is False
    assert not (tmp_path / "run").exists()


@pytest.fixture()
def csv_dataset(tmp_path):
    """30 users, 12 items in two taste blocks; timestamps increase per user."""
    rows = []
    for u in range(30):
        block = range(0, 6) if u % 2 == 0 else range(6, 12)
        for t, i in enumerate(block):
            if (u + i) % 5 != 0:
                rows.append((f"u{u}", f"i{i}", 4.0, 1000 * u + t))
    frame = pl.DataFrame(rows, schema=["uid", "sku", "stars", "ts"], orient="row")
    path = tmp_path / "events.csv"
    frame.write_csv(path)
    return path


def _config(tmp_path, csv_dataset, model="ease"):
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(
        textwrap.dedent(
            f"""
            data:
              path: {csv_dataset}
              format: csv
              columns: {{user: uid, item: sku, rating: stars, timestamp: ts}}
            split: {{protocol: loo}}
            model: {{name: {model}}}
            eval: {{metrics: [ndcg@5, recall@5]}}
            """
        )
    )
    return cfg


def test_train_evaluate_recommend_round_trip(tmp_path, csv_dataset):
    runner = CliRunner()
    cfg = _config(tmp_path, csv_dataset)
    run_dir = tmp_path / "run"
    result = runner.invoke(app, ["train", "--config", str(cfg), "--out", str(run_dir), "--json"])
    assert result.exit_code == 0, result.output
    trained = json.loads(result.stdout)
    assert set(trained["ease"]) == {"ndcg@5", "recall@5"}
    for name in ("config.yaml", "metrics.json", "model/weights.safetensors", "model/meta.json"):
        assert (run_dir / name).is_file(), name

    result = runner.invoke(app, ["evaluate", str(run_dir), "--json"])
    assert result.exit_code == 0, result.output
    again = json.loads(result.stdout)
    assert again["ease"]["ndcg@5"] == pytest.approx(trained["ease"]["ndcg@5"])

    result = runner.invoke(app, ["recommend", str(run_dir), "--user", "u0", "-k", "3", "--json"])
    assert result.exit_code == 0, result.output
    recs = json.loads(result.stdout)
    assert [r["rank"] for r in recs["items"]] == [1, 2, 3]
    # u0 belongs to the first taste block: its recommendations come from items i0..i5
    assert all(int(r["item"][1:]) < 6 for r in recs["items"])


def test_config_validate_reports_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  name: ease\n  l2_reg: -3\n")
    proc = subprocess.run(
        [sys.executable, "-c", "from ssl4rec.cli.main import main; main()", "config", "validate", str(bad)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "model.l2_reg must be > 0; got -3.0" in proc.stderr


def test_config_show_applies_overrides(tmp_path, csv_dataset):
    cfg = _config(tmp_path, csv_dataset)
    result = CliRunner().invoke(app, ["config", "show", str(cfg), "--set", "model.l2_reg=42.0"])
    assert result.exit_code == 0, result.output
    assert "l2_reg: 42.0" in result.output


@pytest.mark.parametrize(
    "command",
    [[], ["train"], ["evaluate"], ["recommend"], ["quickstart"], ["bench"], ["serve"],
     ["config", "show"], ["configs", "list"], ["datasets", "list"]],
)
def test_help_shows_no_value_placeholder_for_flags(command):
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output


def test_configs_list_shows_the_shipped_configs():
    result = CliRunner().invoke(app, ["configs", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row["about"] for row in json.loads(result.output)}
    assert rows["ease-ml100k"].startswith("EASE on MovieLens-100K")
    shown = CliRunner().invoke(app, ["config", "show", "ease-ml100k"])
    assert shown.exit_code == 0 and "name: ease" in shown.output
