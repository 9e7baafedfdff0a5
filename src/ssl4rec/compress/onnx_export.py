"""ONNX export of the scoring path and an ONNX Runtime backend for serving.

Sequential models export history tokens ``(B, L)`` -> query vectors ``(B, d)``: the
item table is computed once at export and baked into the graph as a constant, and
scores stay ``query · item vectors`` (plus the ``seen_bias`` offset), so retrieval
and masking are unchanged. Autoencoders export item rows ``(B, n)`` -> scores
``(B, n)`` (a new user's fold-in). ``check_export`` compares the graph with torch on
random histories and reports the largest absolute difference.

``with_onnx_backend`` returns the model with its scoring path run by
``onnxruntime`` (the rest, such as explanations, stays in torch); ``ssl4rec serve
--backend onnx`` uses it.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ssl4rec.errors import ConfigError, DataError
from ssl4rec.models.base import Recommender
from ssl4rec.models.nn.autoencoder import AutoencoderRecommender
from ssl4rec.models.nn.rows import dense_rows
from ssl4rec.models.nn.sequential import SequenceNet, SequentialRecommender, score_queries

__all__ = ["ONNX_FILE", "check_export", "export_onnx", "onnx_session", "with_onnx_backend"]

logger = logging.getLogger(__name__)

ONNX_FILE = "model.onnx"
"""File name of the exported graph inside a model folder."""
OPSET = 18


class _QueryGraph(nn.Module):
    """Tokens ``(B, L)`` -> the last position's query vector ``(B, d)`` (``SequenceNet.queries``)."""

    full: torch.Tensor

    def __init__(self, net: SequenceNet) -> None:
        super().__init__()
        self.encoder = net.encoder
        self.temperature = net.score_temperature
        with torch.no_grad():
            table = net.items.table()  # (n, d)
            pad = table.new_zeros(1, table.shape[1])
            full = torch.cat([pad, table, net.items.mask_token[None]], dim=0)  # (n + 2, d)
        self.register_buffer("full", full.detach().clone())

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """``(B, L)`` int64 -> ``(B, d)``."""
        hidden, _ = self.encoder(self.full[tokens], tokens)  # (B, L, d)
        return score_queries(hidden[:, -1], self.temperature)


class _RowsGraph(nn.Module):
    """Binary item rows ``(B, n)`` -> scores ``(B, n)`` of a new user."""

    def __init__(self, model: AutoencoderRecommender[Any]) -> None:
        super().__init__()
        self.model = model
        self.inner = nn.ModuleList(model.modules().values())  # registered, so .eval() reaches them

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        """``(B, n)`` -> ``(B, n)``."""
        return self.model.reconstruct(rows, None)


def _graph(model: Recommender[Any]) -> tuple[nn.Module, torch.Tensor, str]:
    if isinstance(model, SequentialRecommender):
        assert model.net is not None
        example = model.history_tokens([np.arange(min(5, model.num_items))])
        return _QueryGraph(model.net), example, "tokens"
    if isinstance(model, AutoencoderRecommender):
        return _RowsGraph(model), torch.zeros(2, model.num_items), "rows"
    raise ConfigError(
        f"export_onnx: {type(model).__name__} has no exportable scoring path "
        "(sequential models and autoencoders have)"
    )


def export_onnx(model: Recommender[Any], path: str | Path) -> Path:
    """Write the scoring graph of ``model`` to ``path`` (dynamic batch size)."""
    graph, example, name = _graph(model)
    graph.eval()
    path = Path(path)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph,
            (example,),
            str(path),
            input_names=[name],
            output_names=["output"],
            dynamic_axes={name: {0: "batch"}, "output": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )
    return path


def onnx_session(path: str | Path, *, threads: int | None = None) -> Any:
    """An ``onnxruntime.InferenceSession`` on CPU for ``path``."""
    try:
        import onnxruntime as ort
    except ImportError as err:  # pragma: no cover - an install problem
        raise ConfigError("ONNX Runtime is missing: pip install 'ssl4rec[compress]'") from err
    if not Path(path).is_file():
        raise DataError(
            f"{path}: no exported ONNX graph (run `ssl4rec compress RUN --method onnx`)"
        )
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    # no busy-waiting worker threads: on a shared machine spinning steals the cores
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _run(session: Any, array: np.ndarray) -> np.ndarray:
    name = session.get_inputs()[0].name
    return np.asarray(session.run(None, {name: array})[0])


def check_export(
    model: Recommender[Any], session: Any, *, histories: int = 256, seed: int = 0
) -> dict[str, Any]:
    """Compare ONNX Runtime with torch on random histories.

    Returns:
        ``max_abs_diff`` of the scores over all items, the share of histories whose
        top-10 item set is the same (``top10_same``), and the number of histories.
    """
    rng = np.random.default_rng(seed)
    n = model.num_items
    longest = getattr(model.config, "max_seq_len", 50)
    hists = [
        rng.choice(n, size=int(rng.integers(1, min(longest, n) + 1)), replace=False)
        for _ in range(histories)
    ]
    with torch.no_grad():
        expected = model.score_history(hists).float().numpy()  # (H, n)
    backed = with_onnx_backend(model, session)
    with torch.no_grad():
        got = backed.score_history(hists).float().numpy()  # (H, n)
    k = min(10, n)
    top_e = np.argsort(-expected, axis=1)[:, :k]
    top_g = np.argsort(-got, axis=1)[:, :k]
    same = [set(a) == set(b) for a, b in zip(top_e, top_g, strict=True)]
    return {
        "histories": histories,
        "max_abs_diff": float(np.abs(expected - got).max()),
        "top10_same": float(np.mean(same)),
    }


class _OnnxQueries:
    """Sequential models: query vectors from ONNX Runtime, item vectors computed once."""

    backend = "onnx"

    _onnx_session: Any
    _onnx_items: np.ndarray

    def query_vectors(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """``(len(histories), d)`` from the exported graph."""
        tokens = self.history_tokens(histories).numpy()  # type: ignore[attr-defined]
        if not len(tokens):
            return np.zeros((0, self._onnx_items.shape[1]), dtype=np.float32)
        return _run(self._onnx_session, tokens)

    def item_vectors(self) -> np.ndarray:
        """``(num_items, d)``, the table baked into the graph."""
        return self._onnx_items


class _OnnxRows:
    """Autoencoders: fold-in scores from ONNX Runtime."""

    backend = "onnx"

    _onnx_session: Any
    score_batch_size: int

    def _score_rows(self, matrix: Any, users: torch.Tensor | None) -> torch.Tensor:
        out = []
        for start in range(0, matrix.shape[0], self.score_batch_size):
            stop = min(start + self.score_batch_size, matrix.shape[0])
            rows = dense_rows(matrix, np.arange(start, stop), torch.device("cpu")).numpy()
            out.append(torch.from_numpy(_run(self._onnx_session, rows.astype(np.float32))))
        if not out:
            return torch.zeros((0, matrix.shape[1]), dtype=torch.float32)
        return torch.cat(out)

    def score(self, users: np.ndarray) -> torch.Tensor:
        """Known users folded in from their training rows (the graph has no user node)."""
        assert self.history is not None  # type: ignore[attr-defined]
        users = np.asarray(users, dtype=np.int64)
        return self._score_rows(self.history.csr(users), None)  # type: ignore[attr-defined]


def with_onnx_backend(model: Recommender[Any], session: Any) -> Recommender[Any]:
    """``model`` with its scoring path run by the ONNX Runtime ``session``.

    The result is an instance of a subclass of the model's class (so capability and
    type checks still hold) sharing the model's state; the model itself is unchanged.
    """
    mixin: type
    if isinstance(model, SequentialRecommender):
        mixin = _OnnxQueries
    elif isinstance(model, AutoencoderRecommender):
        mixin = _OnnxRows
    else:
        raise ConfigError(f"--backend onnx: {type(model).__name__} has no ONNX scoring path")
    cls: Any = type(f"Onnx{type(model).__name__}", (mixin, type(model)), {})
    backed = cls.__new__(cls)
    backed.__dict__.update(model.__dict__)
    backed._onnx_session = session
    if isinstance(model, SequentialRecommender):
        backed._onnx_items = model.item_vectors()
    return backed  # type: ignore[no-any-return]
