"""Faster item-text encoders: int8 MiniLM in torch, ONNX Runtime and OpenVINO.

Both keep the sentence-transformers recipe of all-MiniLM-L6-v2 (its tokenizer, mean
pooling over the attention mask, L2 normalisation) and change only how the
Transformer runs:

- ``Int8SentenceTransformerEncoder``: every ``nn.Linear`` of the loaded model as
  dynamic int8 (``torch.ao.quantization.quantize_dynamic``, per-channel weights);
- ``OnnxSentenceEncoder``: the Hugging Face model exported with ``torch.onnx`` and
  run by ``onnxruntime``, optionally with its MatMul weights quantized to int8 by
  ``onnxruntime.quantization.quantize_dynamic`` (the FFN output projections, the
  layers most sensitive to int8 here, stay float);
- ``OpenVinoSentenceEncoder``: the same exported graph run by OpenVINO, optionally
  with static int8 (weights and activations) from NNCF post-training quantization
  calibrated on a given set of texts, the recipe of sentence-transformers' own
  ``export_static_quantized_openvino_model``.

Each has its own ``name`` (the float name plus the variant), so the embedding cache
never mixes their vectors with the float encoder's. ``compare_encoders`` times them
on a list of texts and reports the cosine to the float vectors.
"""

from __future__ import annotations

import logging
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ssl4rec.text.sentence_transformers import SentenceTransformerEncoder

__all__ = [
    "Int8SentenceTransformerEncoder",
    "OnnxSentenceEncoder",
    "OpenVinoSentenceEncoder",
    "compare_encoders",
]

logger = logging.getLogger(__name__)


class Int8SentenceTransformerEncoder(SentenceTransformerEncoder):
    """A ``SentenceTransformerEncoder`` whose Linear layers run as dynamic int8."""

    def __init__(self, model: str = "all-MiniLM-L6-v2", **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        self.name += ";int8-dynamic"

    def load_model(self) -> Any:
        """The float model with its Linear layers replaced by dynamic int8 ones."""
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        st = super().load_model()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic(
                st, {nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8, inplace=True
            )
        return st.eval()


class OnnxSentenceEncoder:
    """all-MiniLM-L6-v2 (or another BERT-like sentence-transformers model) in ONNX Runtime.

    Args:
        model: as for ``SentenceTransformerEncoder`` (default: the packaged MiniLM).
        int8: quantize the exported graph's weights to int8.
        float_ffn_output: with ``int8``, keep the FFN output projections float (the
            layers that move the vectors most); ``False`` quantizes every MatMul.
        num_threads: ONNX Runtime intra-op threads (``None``: its default).
        folder: where the graph is written (default: a temporary folder).
    """

    def __init__(
        self,
        model: str = "all-MiniLM-L6-v2",
        *,
        int8: bool = False,
        float_ffn_output: bool = True,
        num_threads: int | None = None,
        folder: str | Path | None = None,
    ) -> None:
        self._float = SentenceTransformerEncoder(model)
        self.int8 = int8
        self.float_ffn_output = float_ffn_output
        self.num_threads = num_threads
        self.name = self._float.name + (";onnx-int8" if int8 else ";onnx")
        if int8 and not float_ffn_output:
            self.name += "-all"
        self.folder = (
            Path(folder)
            if folder is not None
            else Path(tempfile.mkdtemp(prefix="ssl4rec-st-onnx-"))
        )
        self.folder.mkdir(parents=True, exist_ok=True)
        self._session: Any = None
        self._tokenizer: Any = None
        self._max_len = 256

    @property
    def dim(self) -> int:
        """Width of the vectors."""
        return self._float.dim

    def _export(self) -> Path:
        """Export the float Transformer (token ids -> hidden states) to ONNX; its path."""
        st = self._float.load_model()
        transformer = st[0]
        self._tokenizer = transformer.tokenizer
        self._max_len = int(st.max_seq_length or 256)
        hf: Any = transformer.auto_model
        hf.eval()
        path = self.folder / "encoder.onnx"
        example = self._tokenizer(
            ["a short text", "another one"], padding=True, return_tensors="pt"
        )
        names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in example]

        class _Hidden(nn.Module):
            def __init__(self, inner: nn.Module) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
                return self.inner(**dict(zip(names, inputs, strict=True))).last_hidden_state

        axes = {n: {0: "batch", 1: "tokens"} for n in names}
        axes["hidden"] = {0: "batch", 1: "tokens"}
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Hidden(hf),
                tuple(example[n] for n in names),
                str(path),
                input_names=names,
                output_names=["hidden"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        self._inputs = names
        return path

    def _load(self) -> None:
        import onnxruntime as ort

        path = self._export()
        if self.int8:
            import onnx
            from onnxruntime.quantization import QuantType, quantize_dynamic

            # the FFN output projections stay float: int8 there moves the vectors most
            keep_float = [
                node.name
                for node in onnx.load(str(path)).graph.node
                if node.op_type == "MatMul"
                and node.name.endswith("/output/dense/MatMul")
                and "/attention/" not in node.name
                and self.float_ffn_output
            ]
            quantized = self.folder / (
                "encoder-int8.onnx" if self.float_ffn_output else "encoder-int8-all.onnx"
            )
            quantize_dynamic(
                str(path),
                str(quantized),
                weight_type=QuantType.QInt8,
                per_channel=True,
                nodes_to_exclude=keep_float,
            )
            path = quantized
        options = ort.SessionOptions()
        if self.num_threads:
            options.intra_op_num_threads = self.num_threads
            options.inter_op_num_threads = 1
        # no busy-waiting worker threads: on a shared machine spinning steals the cores
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def _feeds(self, texts: Sequence[str]) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Tokenizer outputs the graph reads, and the attention mask."""
        enc = self._tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self._max_len,
            return_tensors="np",
        )
        return {n: enc[n].astype(np.int64) for n in self._inputs}, enc["attention_mask"]

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: bool | None = None
    ) -> np.ndarray:
        """L2-normalised mean-pooled vectors ``(len(texts), dim)``, in input order."""
        if self._session is None:
            self._load()
        texts = [str(t) for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")  # little padding per batch
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            feeds, attention = self._feeds([texts[i] for i in idx])
            hidden = self._session.run(None, feeds)[0]  # (b, tokens, dim)
            mask = attention.astype(np.float32)[:, :, None]  # (b, tokens, 1)
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)  # (b, dim)
            out[idx] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out


class OpenVinoSentenceEncoder(OnnxSentenceEncoder):
    """all-MiniLM-L6-v2 (or another BERT-like model) in OpenVINO, float or static int8.

    int8 follows the recipe of sentence-transformers'
    ``export_static_quantized_openvino_model``: NNCF post-training quantization of
    the OpenVINO model (``nncf.quantize``, ``ModelType.TRANSFORMER``: int8 weights and
    activations with scales calibrated on ``calibration_texts``).

    Args:
        model: as for ``SentenceTransformerEncoder``.
        int8: static int8 by NNCF (needs ``calibration_texts``).
        calibration_texts: texts whose activations set the int8 scales.
        num_threads: OpenVINO inference threads (``None``: its default).
        folder: where the ONNX graph is written (default: a temporary folder).
        precision: OpenVINO's ``INFERENCE_PRECISION_HINT`` for the float parts
            (``f32``: float32 math; OpenVINO would otherwise pick bf16 on CPUs with
            bf16 instructions).
    """

    def __init__(
        self,
        model: str = "all-MiniLM-L6-v2",
        *,
        int8: bool = False,
        calibration_texts: Sequence[str] | None = None,
        num_threads: int | None = None,
        folder: str | Path | None = None,
        precision: str = "f32",
    ) -> None:
        super().__init__(model, int8=False, num_threads=num_threads, folder=folder)
        if int8 and not calibration_texts:
            raise ValueError("OpenVinoSentenceEncoder: int8 needs calibration_texts")
        self.int8 = int8
        self.calibration_texts = [str(t) for t in calibration_texts or []]
        self.precision = precision
        self.name = self._float.name + (";openvino-int8" if int8 else ";openvino")

    def _load(self) -> None:
        import openvino as ov

        core = ov.Core()
        graph = core.read_model(str(self._export()))
        if self.int8:
            import nncf

            batches = [
                self._feeds(self.calibration_texts[i : i + 16])[0]
                for i in range(0, len(self.calibration_texts), 16)
            ]
            graph = nncf.quantize(
                graph,
                nncf.Dataset(batches),
                model_type=nncf.ModelType.TRANSFORMER,
                subset_size=len(batches),
            )
        config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": self.precision}
        if self.num_threads:
            config["INFERENCE_NUM_THREADS"] = self.num_threads
        compiled = core.compile_model(graph, "CPU", config)

        class _Session:
            """``run`` as ONNX Runtime's: the first output for the given feeds."""

            def run(self, _: Any, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
                return [np.asarray(compiled(feeds)[0])]

        self._session = _Session()


def compare_encoders(
    texts: Sequence[str],
    encoders: dict[str, Any],
    *,
    reference: str = "float",
    repeats: int = 2,
    holdout: Sequence[int] | None = None,
) -> dict[str, dict[str, float]]:
    """Encode ``texts`` with each encoder: best of ``repeats`` seconds and cosine to ``reference``.

    The first call of each encoder (loading, export, calibration) is not timed; the
    encoders take turns in each repeat, so other load on the machine meets them alike.

    Args:
        texts: the texts to encode.
        encoders: name -> encoder (``encode(texts)``).
        reference: the name whose vectors the cosines compare to.
        repeats: timed passes per encoder.
        holdout: indices of texts no encoder was calibrated on; their cosines are
            also reported (``cos_mean_holdout``, ``cos_min_holdout``).

    Returns:
        name -> ``seconds``, ``speedup`` (reference seconds / seconds), ``cos_mean``,
        ``cos_min`` (and the holdout ones).
    """
    vectors: dict[str, np.ndarray] = {}
    seconds: dict[str, float] = dict.fromkeys(encoders, float("inf"))
    for encoder in encoders.values():
        encoder.encode(list(texts[:8]))  # load / export / calibrate, untimed
    for _ in range(repeats):
        for name, encoder in encoders.items():
            start = time.perf_counter()
            vecs = encoder.encode(list(texts))
            seconds[name] = min(seconds[name], time.perf_counter() - start)
            vectors[name] = np.asarray(vecs, dtype=np.float32)
    for name in encoders:
        logger.info("encoded %d texts with %s in %.2f s", len(texts), name, seconds[name])
    ref = vectors[reference]
    out = {}
    for name, vecs in vectors.items():
        cos = (vecs * ref).sum(axis=1) / (
            np.linalg.norm(vecs, axis=1) * np.linalg.norm(ref, axis=1) + 1e-12
        )
        out[name] = {
            "seconds": round(seconds[name], 3),
            "speedup": round(seconds[reference] / seconds[name], 3),
            "cos_mean": round(float(cos.mean()), 5),
            "cos_min": round(float(cos.min()), 5),
        }
        if holdout is not None:
            held = cos[np.asarray(holdout, dtype=np.int64)]
            out[name]["cos_mean_holdout"] = round(float(held.mean()), 5)
            out[name]["cos_min_holdout"] = round(float(held.min()), 5)
    return out
