"""``ssl4rec.compress``: each method gives a loadable, smaller or faster run; bad input fails."""

from __future__ import annotations

import json
import warnings

import numpy as np
import torch
from safetensors import safe_open
from torch import nn
from typer.testing import CliRunner

import pytest

import ssl4rec.runner as runner
from ssl4rec.cli.main import app
from ssl4rec.compress import CompressConfig, compress_run, supported_methods
from ssl4rec.compress.onnx_export import onnx_session, with_onnx_backend
from ssl4rec.errors import ConfigError, DataError
from ssl4rec.evaluation.evaluator import evaluate
from ssl4rec.models.base import load_model
from ssl4rec.models.packing import RowwiseInt8Embedding, RowwiseInt8Linear, quantize_rows
from ssl4rec.runner.experiment import load_experiment


def _scores(model, n=30):
    hists = [model.history.sequence(u) for u in range(n)]
    with torch.no_grad():
        return model.score_history(hists).numpy()


def _top10_same(a, b):
    ta, tb = np.argsort(-a, axis=1)[:, :10], np.argsort(-b, axis=1)[:, :10]
    return np.mean([len(set(x) & set(y)) / 10 for x, y in zip(ta, tb, strict=True)])


def _weights_bytes(run):
    return (run / "model" / "weights.safetensors").stat().st_size


@pytest.mark.parametrize("name", ["sasrec", "multvae"])
@pytest.mark.parametrize(
    ("method", "max_ratio"),
    [
        ("int8", 0.4),
        ("int8-dynamic", 0.9),
        ("int8-embeddings", 0.9),
        ("int8-weight-only", 0.4),
        ("fp16", 0.55),
        ("bf16", 0.55),
    ],
)
def test_quantized_runs_are_smaller_and_score_like_float(runs, tmp_path, name, method, max_ratio):
    out = tmp_path / method
    record = compress_run(runs / name, out, CompressConfig(method=method))
    assert _weights_bytes(out) < max_ratio * _weights_bytes(runs / name)
    assert record["bytes_after"] < record["bytes_before"]
    float_model, model = load_model(runs / name / "model"), load_model(out / "model")
    expected, got = _scores(float_model), _scores(model)
    assert np.abs(expected - got).max() < 0.05 * np.abs(expected).max()
    assert _top10_same(expected, got) >= 0.8
    meta = json.loads((out / "model" / "meta.json").read_text())
    assert meta["compression"]["method"] == method
    assert meta["compression"]["bits"] == (8 if method.startswith("int8") else 16)
    # still safetensors (no pickle), the packed tensors under their codec names
    with safe_open(str(out / "model" / "weights.safetensors"), framework="pt") as f:
        keys = list(f.keys())
    codec = {"fp16": "::f16", "bf16": "::bf16"}.get(method, "::q8")
    assert any(k.endswith(codec) for k in keys)


def test_int8_runs_linear_layers_as_dynamic_int8_and_keeps_the_item_table_int8(runs, tmp_path):
    compress_run(runs / "sasrec", tmp_path / "q", CompressConfig(method="int8"))
    model = load_model(tmp_path / "q" / "model")
    kinds = {type(m).__module__ for m in model.net.modules()}
    assert any("quantized" in k for k in kinds)
    assert not any(type(m) is nn.Linear for m in model.net.modules())
    ids = model.net.items.ids
    assert isinstance(ids, RowwiseInt8Embedding) and ids.qweight.dtype == torch.int8
    assert model.recommend(model.user_vocab.raw([0])[0], 5).items.shape == (1, 5)


def test_int8_weight_only_keeps_int8_weight_rows_and_float_activations(runs, tmp_path):
    compress_run(runs / "multvae", tmp_path / "w", CompressConfig(method="int8-weight-only"))
    float_model, model = (
        load_model(runs / "multvae" / "model"),
        load_model(tmp_path / "w" / "model"),
    )
    layers = [m for m in model.net.modules() if isinstance(m, RowwiseInt8Linear)]
    assert layers and not any(isinstance(m, nn.Linear) for m in model.net.modules())
    assert all(m.qweight.dtype == torch.int8 for m in layers)
    # exactly the float model with its weights rounded to int8 rows: no activation error
    for layer in (m for m in float_model.net.modules() if isinstance(m, nn.Linear)):
        q, scale = quantize_rows(layer.weight.data)
        layer.weight.data = q.float() * scale[:, None]
    np.testing.assert_allclose(_scores(model), _scores(float_model), rtol=1e-4, atol=1e-5)


def test_rowwise_int8_linear_is_the_linear_of_its_dequantized_weight():
    torch.manual_seed(0)
    linear = nn.Linear(7, 5)
    layer = RowwiseInt8Linear(linear)
    x = torch.randn(3, 7)
    expected = nn.functional.linear(x, layer.weight, linear.bias)
    torch.testing.assert_close(layer(x), expected, rtol=1e-5, atol=1e-6)
    assert (layer.weight - linear.weight).abs().max() <= linear.weight.abs().max() / 254 + 1e-7


@pytest.mark.parametrize("structured", [False, True])
def test_pruning_keeps_its_zeros_through_the_fine_tune_and_packs_them(runs, tmp_path, structured):
    method = "prune-structured" if structured else "prune"
    out = tmp_path / method
    record = compress_run(
        runs / "sasrec", out, CompressConfig(method=method, sparsity=0.5, finetune_epochs=2)
    )
    model = load_model(out / "model")
    assert record["finetune"]["epochs_run"] >= 1
    if structured:
        block = model.net.encoder.blocks[0]
        dead = (block.ff[0].weight == 0).all(dim=1)  # whole FFN neurons
        assert dead.float().mean() == pytest.approx(0.5, abs=0.05)
        assert (block.ff[3].weight[:, dead] == 0).all()
        width = block.attn.out.weight.shape[0] // block.attn.num_heads
        cols = (block.attn.out.weight == 0).all(dim=0).reshape(-1, width)  # per head
        assert cols.all(dim=1).sum() == 1  # one of two heads pruned
    else:
        ids = model.net.items.ids.weight
        assert (ids == 0).float().mean() >= 0.5
        assert record["sparsity_pruned"] >= 0.5
        # the text vectors (a buffer, not pruned) are about half of this tiny file
        assert _weights_bytes(out) < 0.8 * _weights_bytes(runs / "sasrec")
    with safe_open(str(out / "model" / "weights.safetensors"), framework="pt") as f:
        assert any(k.endswith("::bits") for k in f.keys())  # noqa: SIM118


def test_distillation_trains_a_smaller_sasrec_on_pca_text(runs, tmp_path):
    config = CompressConfig(
        method="distill", finetune_epochs=2, student_dim=8, text_dim=4, student_ff_dim=16
    )
    record = compress_run(runs / "sasrec", tmp_path / "s", config)
    student = load_model(tmp_path / "s" / "model")
    assert type(student).__name__ == "SASRec"
    assert student.config.embedding_dim == 8 and student.config.num_layers == 1
    assert student.net.items.text.shape == (student.num_items, 4)
    assert record["params_after"] < record["teacher_params"] / 2
    assert record["teacher"] == str(runs / "sasrec")
    # the new run's config is the student's, so `ssl4rec evaluate` reads it as it is
    assert load_experiment(tmp_path / "s" / "config.yaml").model.embedding_dim == 8
    result = CliRunner().invoke(app, ["evaluate", str(tmp_path / "s"), "--json"])
    assert result.exit_code == 0, result.output


def test_a_student_larger_than_its_teacher_warns(runs, tmp_path):
    config = CompressConfig(
        method="distill",
        finetune_epochs=1,
        student_dim=64,
        student_heads=2,
        student_layers=3,
        student_ff_dim=256,
    )
    with pytest.warns(UserWarning, match=r"student \(\d+ parameters\) is larger than its teacher"):
        compress_run(runs / "sasrec", tmp_path / "big", config)


@pytest.mark.parametrize("name", ["sasrec", "multvae"])
def test_onnx_export_matches_torch_and_backs_scoring(runs, tmp_path, name):
    record = compress_run(runs / name, tmp_path / "o", CompressConfig(method="onnx"))
    assert record["onnx"]["max_abs_diff"] < 1e-4
    assert record["onnx"]["top10_same"] == 1.0
    model = load_model(tmp_path / "o" / "model")
    backed = with_onnx_backend(model, onnx_session(tmp_path / "o" / "model" / "model.onnx"))
    assert backed.backend == "onnx" and isinstance(backed, type(model))
    np.testing.assert_allclose(_scores(backed), _scores(model), atol=1e-4)
    experiment = load_experiment(runs / name / "config.yaml")
    split = runner.make_experiment_split(runner.load_data(experiment.data), experiment.split)
    a = evaluate(model, split, metrics=["ndcg@10"]).metrics["ndcg@10"]
    b = evaluate(backed, split, metrics=["ndcg@10"]).metrics["ndcg@10"]
    assert a == pytest.approx(b, abs=1e-6)


def test_onnx_backend_serves_and_model_info_says_so(runs, tmp_path):
    from fastapi.testclient import TestClient

    from ssl4rec.compress.serving import onnx_backed
    from ssl4rec.serving.app import create_app
    from ssl4rec.serving.settings import ServeSettings

    compress_run(runs / "sasrec", tmp_path / "o", CompressConfig(method="onnx"))
    model_dir = tmp_path / "o" / "model"
    torch_model = load_model(model_dir)
    settings = ServeSettings(model_dir=str(model_dir), db=":memory:", api_key="secret")
    served = onnx_backed(torch_model, model_dir, backend="onnx", threads=1)
    user = torch_model.user_vocab.raw([3])[0]
    with TestClient(create_app(settings, model=served)) as client:
        info = client.get("/model-info").json()
        assert info["backend"] == "onnx" and info["compression"]["method"] == "onnx"
        got = [r["item"] for r in client.get(f"/users/{user}/recommendations?k=10").json()["items"]]
        # the exported graph has a fixed catalog and fixed weights: no new items, no updates
        key = {"X-API-Key": "secret"}
        added = client.post("/items", json={"item": "new", "text": "a new item"}, headers=key)
        assert added.status_code == 409 and "served through onnx" in added.json()["detail"]
        updated = client.post("/admin/update", headers=key)
        assert updated.status_code == 409 and "served through onnx" in updated.json()["detail"]
    assert got == list(torch_model.recommend(user, 10).items[0])


def test_a_method_the_model_does_not_support_lists_the_supported_ones(runs, tmp_path):
    assert supported_methods(load_model(runs / "ease" / "model")) == [
        "int8-embeddings",
        "fp16",
        "bf16",
    ]
    with pytest.raises(
        ConfigError,
        match=r"method 'prune' does not support EASE .*\['int8-embeddings', 'fp16', 'bf16'\]",
    ):
        compress_run(runs / "ease", tmp_path / "x", CompressConfig(method="prune"))
    with pytest.raises(ConfigError, match="method 'distill' does not support MultVAE"):
        compress_run(runs / "multvae", tmp_path / "x", CompressConfig(method="distill"))


def test_ease_int8_item_matrix_is_smaller_and_close(runs, tmp_path):
    compress_run(runs / "ease", tmp_path / "e", CompressConfig(method="int8-embeddings"))
    assert _weights_bytes(tmp_path / "e") < 0.3 * _weights_bytes(runs / "ease")
    assert (
        _top10_same(
            _scores(load_model(runs / "ease" / "model")),
            _scores(load_model(tmp_path / "e" / "model")),
        )
        >= 0.8
    )


@pytest.mark.parametrize("sparsity", [0.0, 1.0, -0.5, 1.5])
def test_sparsity_outside_0_1_names_the_field(sparsity):
    with pytest.raises(ConfigError, match=r"CompressConfig\.sparsity must be in \(0\.0, 1\.0\)"):
        CompressConfig(method="prune", sparsity=sparsity)


def test_unknown_method_and_bad_fields_are_reported_together():
    with pytest.raises(ConfigError) as err:
        CompressConfig(method="zip", alpha=2.0, student_heads=3)  # type: ignore[arg-type]
    text = str(err.value)
    assert "CompressConfig.method must be one of" in text
    assert "CompressConfig.alpha must be in [0.0, 1.0]" in text
    assert "CompressConfig.student_heads must be a divisor of student_dim=32" in text


def test_compressing_twice_or_into_a_model_folder_is_refused(runs, tmp_path):
    compress_run(runs / "multvae", tmp_path / "a", CompressConfig(method="fp16"))
    with pytest.raises(ConfigError, match="already compressed"):
        compress_run(tmp_path / "a", tmp_path / "b", CompressConfig(method="int8"))
    with pytest.raises(ConfigError, match="already holds a model"):
        compress_run(runs / "multvae", tmp_path / "a", CompressConfig(method="int8"))
    with pytest.raises(DataError, match="not a run folder"):
        compress_run(tmp_path, tmp_path / "c", CompressConfig(method="int8"))


def test_a_damaged_packed_tensor_fails_with_the_file_named(runs, tmp_path):
    from safetensors.torch import load_file, save_file

    from ssl4rec.models.packing import unpack_tensors

    compress_run(runs / "multvae", tmp_path / "q", CompressConfig(method="int8"))
    path = tmp_path / "q" / "model" / "weights.safetensors"
    tensors = load_file(str(path))
    key = next(k for k in tensors if k.endswith("::q8scale"))
    tensors[key] = tensors[key][:-1]
    save_file(tensors, str(path))
    with pytest.raises(DataError, match="weights.safetensors: packed tensor .* cannot be decoded"):
        unpack_tensors(load_file(str(path)), source=path)


def test_cli_compress_then_evaluate_and_recommend(runs, tmp_path):
    out = tmp_path / "cli"
    result = CliRunner().invoke(
        app, ["compress", str(runs / "sasrec"), "--method", "int8", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["method"] == "int8" and summary["bytes_after"] < summary["bytes_before"]
    evaluated = CliRunner().invoke(app, ["evaluate", str(out), "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    assert 0 <= json.loads(evaluated.stdout)["sasrec"]["ndcg@10"] <= 1
    user = load_model(out / "model").user_vocab.raw([0])[0]
    rec = CliRunner().invoke(app, ["recommend", str(out), "--user", user, "-k", "3"])
    assert rec.exit_code == 0, rec.output


def test_cli_bad_input_is_one_line(runs, tmp_path, capsys):
    import sys

    from ssl4rec.cli.main import main

    argv = [
        "ssl4rec",
        "compress",
        str(runs / "ease"),
        "--method",
        "prune",
        "--sparsity",
        "1.5",
        "--out",
        str(tmp_path / "x"),
    ]
    old, sys.argv = sys.argv, argv
    try:
        with pytest.raises(SystemExit) as exit_info, warnings.catch_warnings():
            main()
    finally:
        sys.argv = old
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "CompressConfig.sparsity must be in (0.0, 1.0); got 1.5" in err


@pytest.mark.parametrize("method", ["int8", "prune", "onnx"])
def test_explain_reads_a_compressed_run(runs, tmp_path, method):
    out = tmp_path / method
    compress_run(runs / "sasrec", out, CompressConfig(method=method, finetune_epochs=1))
    user = load_model(out / "model").user_vocab.raw([1])[0]
    result = CliRunner().invoke(app, ["explain", str(out), "--user", user, "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["items"]) == 10


def test_serve_backend_errors_name_the_choices(runs):
    from ssl4rec.compress.serving import onnx_backed

    sasrec = load_model(runs / "sasrec" / "model")
    with pytest.raises(
        ConfigError, match=r"serve --backend must be one of \['torch', 'onnx'\]; got 'tensorrt'"
    ):
        onnx_backed(sasrec, runs / "sasrec" / "model", backend="tensorrt")
    assert onnx_backed(sasrec, runs / "sasrec" / "model", backend="torch") is sasrec
    ease = load_model(runs / "ease" / "model")
    with pytest.raises(ConfigError, match="EASE has no ONNX scoring path"):
        onnx_backed(ease, runs / "ease" / "model", backend="onnx")


def test_serve_backend_onnx_exports_when_the_folder_has_no_graph(runs):
    from ssl4rec.compress.serving import onnx_backed

    model = load_model(runs / "multvae" / "model")
    backed = onnx_backed(model, runs / "multvae" / "model", backend="onnx", threads=1)
    assert backed.backend == "onnx"
    np.testing.assert_allclose(_scores(backed), _scores(model), atol=1e-4)


def test_structured_pruning_of_a_ligr_block_drops_whole_swiglu_neurons():
    from ssl4rec.compress.prune import _structured
    from ssl4rec.models.sasrec import SASRec
    from ssl4rec.testing.synthetic import TINY_SEQUENTIAL, cycle_data
    from ssl4rec.training.trainer import TrainConfig

    model = SASRec(**TINY_SEQUENTIAL, epochs=1, block="ligr").fit(
        cycle_data(num_users=20, length=5), train_config=TrainConfig(progress=False, num_threads=1)
    )
    names = [name for name, _ in _structured(model, 0.5)]
    ff = model.net.encoder.blocks[0].ff
    dead = (ff.gate.weight == 0).all(dim=1)  # whole neurons
    assert dead.float().mean() == pytest.approx(0.5, abs=0.05)
    assert (ff.up.weight[dead] == 0).all() and (ff.down.weight[:, dead] == 0).all()
    assert "net.encoder.blocks.0.ff.up.weight" in names


def test_onnx_graph_of_a_cosine_scored_model_gives_its_query_vectors(tmp_path):
    from ssl4rec.compress.onnx_export import check_export, export_onnx
    from ssl4rec.models.sasrec import SASRec
    from ssl4rec.testing.synthetic import TINY_SEQUENTIAL, cycle_data
    from ssl4rec.training.trainer import TrainConfig

    model = SASRec(**{**TINY_SEQUENTIAL, "epochs": 2}, score_temperature=0.1).fit(
        cycle_data(), train_config=TrainConfig(progress=False, num_threads=1)
    )
    session = onnx_session(export_onnx(model, tmp_path / "model.onnx"))
    check = check_export(model, session, histories=32)
    assert check["max_abs_diff"] < 1e-4 and check["top10_same"] == 1.0
    backed = with_onnx_backend(model, session)
    hists = [np.array([0, 1, 2]), np.array([4])]
    np.testing.assert_allclose(np.linalg.norm(backed.query_vectors(hists), axis=1), 10.0, rtol=1e-5)
