"""The quickstart end to end on a small stand-in for ml-100k (no download, no MiniLM)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ssl4rec.cli.main import app
from ssl4rec.testing.fakes import HashTextEncoder
from ssl4rec.testing.synthetic import cycle_data


def _stand_ins(monkeypatch, tmp_path):
    import ssl4rec.runner
    import ssl4rec.text.sentence_transformers as st

    data = cycle_data(num_users=40, num_items=60, length=12)
    monkeypatch.setattr(ssl4rec.runner, "load_data", lambda config, home=None: data)
    monkeypatch.setattr(st, "SentenceTransformerEncoder", lambda name: HashTextEncoder(16))
    monkeypatch.setenv("SSL4REC_HOME", str(tmp_path))


def test_quickstart_trains_baselines_and_text_sasrec(monkeypatch, tmp_path):
    _stand_ins(monkeypatch, tmp_path)
    result = CliRunner().invoke(app, ["quickstart", "--seq-epochs", "2"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    lines = out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("model "))
    rows = [line.split()[0] for line in lines[head + 2 : head + 6]]
    assert rows == ["pop", "itemknn", "ease", "sasrec"]
    assert "item texts: 60 vectors of 16 dims from hash-16" in out
    assert "sasrec (ID + text): 2 epochs on one thread" in out
    assert "test split (each user's latest 10% of events" in out
    assert "ease: l2_reg = " in out and "chosen on the validation split" in out
    assert "novelty@10: mean -log2" in out and "coverage@10: share of the catalog" in out
    assert "from sasrec (text-enhanced" in out and "best baseline by ndcg@10" in out
    assert (tmp_path / "embeddings").is_dir()  # the encoded texts were cached


def test_quickstart_json_without_text(monkeypatch, tmp_path):
    _stand_ins(monkeypatch, tmp_path)
    result = CliRunner().invoke(app, ["quickstart", "--no-text", "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert sorted(metrics) == ["ease", "itemknn", "pop"]
    assert 0.0 <= metrics["ease"]["ndcg@10"] <= 1.0


def _because(out: str, model: str) -> list[str]:
    """The "because you liked" cells of one model's top-10 table."""
    lines = out.splitlines()
    start = next(
        i
        for i, line in enumerate(lines)
        if line.startswith("top-10 for user") and f"from {model} " in line
    )
    rows = lines[start + 3 : start + 13]
    return [row.split("  ")[-1].strip() for row in rows]


def test_sasrec_reasons_differ_between_recommendations(monkeypatch, tmp_path):
    _stand_ins(monkeypatch, tmp_path)
    result = CliRunner().invoke(app, ["quickstart", "--seq-epochs", "2"])
    assert result.exit_code == 0, result.output
    reasons = _because(result.stdout, "sasrec")
    assert len(reasons) == 10 and len(set(reasons)) > 1


def test_quickstart_prints_the_same_metrics_twice(monkeypatch, tmp_path):
    _stand_ins(monkeypatch, tmp_path)
    runs = [
        CliRunner().invoke(app, ["quickstart", "--seq-epochs", "2", "--json"]) for _ in range(2)
    ]
    assert all(r.exit_code == 0 for r in runs), runs[0].output
    assert json.loads(runs[0].stdout) == json.loads(runs[1].stdout)


def test_reasons_come_from_explain_with_the_default_method(monkeypatch, tmp_path):
    import numpy as np

    from ssl4rec.explain import explain, supported_methods
    from ssl4rec.explain.base import item_titles
    from ssl4rec.models.base import load_model

    _stand_ins(monkeypatch, tmp_path)
    out = tmp_path / "runs"
    result = CliRunner().invoke(app, ["quickstart", "--seq-epochs", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    model = load_model(out / "sasrec" / "model")
    default = supported_methods(model)[0]
    assert f"reasons by {default})" in result.stdout
    assert model.user_vocab is not None and model.history is not None
    user = str(model.user_vocab.ids[0])
    history = model.history.sequence(0)
    items = model.recommend(user, 10).item_indices[0]
    titles = item_titles(model)
    expected = [
        "; ".join(titles[h] for h, _ in e.top(2)) or "-"
        for e in explain(model, history, [int(i) for i in np.asarray(items)])
    ]
    assert _because(result.stdout, "sasrec") == expected
