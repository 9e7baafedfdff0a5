"""On-disk cache of text embeddings, keyed by encoder name and text hash.

Layout, one folder per encoder::

    <cache_dir>/<safe encoder name>/
        index.json                  # format, encoder name, dim, shard list with sha256
        shard-<random hex>.safetensors  # "keys" uint8 (n, 32), "embeddings" float32 (n, dim)

``cache_dir`` defaults to ``$SSL4REC_HOME/embeddings``, or the platform user cache
folder for ``ssl4rec`` (e.g. ``~/.cache/ssl4rec/embeddings``) when ``SSL4REC_HOME``
is unset. Each run that meets new texts adds one shard; past ``_MAX_SHARDS`` shards
the folder is compacted into one. Every file is written to a temporary name and
moved into place with ``os.replace``, so a crash never leaves a half-written file
under a real name. A shard or index that fails to parse or whose checksum does not
match is reported with a warning and rebuilt; it never raises. No pickle is used.

Concurrent writers to the same folder do not corrupt it, but the last index written
wins, so the other writer's new shard is re-encoded on a later run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ssl4rec.data.interactions import Interactions
from ssl4rec.errors import DataError
from ssl4rec.text.encoder import ItemTextEncoder
from ssl4rec.text.templates import item_texts

__all__ = ["default_cache_dir", "encode_cached", "encoder_cache_dir", "item_embeddings"]

logger = logging.getLogger(__name__)

_FORMAT = 1
_INDEX = "index.json"
_MAX_SHARDS = 16
_KEY_BYTES = 32  # sha256 digest
_SHARD_RE = re.compile(r"^shard-[0-9a-f]{16}\.safetensors$")


def default_cache_dir() -> Path:
    """The embeddings root: ``$SSL4REC_HOME/embeddings`` or the user cache folder."""
    home = os.environ.get("SSL4REC_HOME")
    if home:
        return Path(home).expanduser() / "embeddings"
    import platformdirs

    return Path(platformdirs.user_cache_dir("ssl4rec")) / "embeddings"


def encoder_cache_dir(encoder_name: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder that holds one encoder's embeddings.

    Args:
        encoder_name: ``ItemTextEncoder.name``.
        cache_dir: Embeddings root; ``None`` uses ``default_cache_dir()``.

    Returns:
        ``<cache_dir>/<safe name>``, where the safe name keeps letters, digits,
        ``.``, ``_`` and ``-`` and ends with a short hash of the full name, so
        names that differ only in other characters do not collide.
    """
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", encoder_name).strip("._")[:80] or "encoder"
    digest = hashlib.sha256(encoder_name.encode("utf-8")).hexdigest()[:8]
    return root / f"{readable}-{digest}"


def encode_cached(
    encoder: ItemTextEncoder,
    texts: Sequence[str],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    batch_size: int = 64,
    progress: bool | None = None,
) -> np.ndarray:
    """Encode texts, reusing vectors cached on disk for this encoder.

    Only texts whose sha256 is not yet in the cache are passed to
    ``encoder.encode`` (each distinct text once); their vectors are then added to
    the cache. A second call with the same texts encodes nothing.

    Args:
        encoder: Any ``ItemTextEncoder``; its ``name`` selects the cache folder.
        texts: The texts, in order (duplicates allowed).
        cache_dir: Embeddings root; ``None`` uses ``default_cache_dir()``.
        batch_size: Passed to ``encoder.encode``.
        progress: Passed to ``encoder.encode``.

    Returns:
        float32 array ``(len(texts), dim)`` in input order.

    Raises:
        DataError: when the encoder returns an array of the wrong shape.
    """
    texts = [str(t) for t in texts]
    keys = [hashlib.sha256(t.encode("utf-8")).digest() for t in texts]
    folder = encoder_cache_dir(encoder.name, cache_dir)
    store = _Store.open(folder, encoder.name)

    missing: dict[bytes, str] = {}
    for key, text in zip(keys, texts, strict=True):
        if key not in store.rows and key not in missing:
            missing[key] = text
    if missing:
        vectors = encoder.encode(list(missing.values()), batch_size=batch_size, progress=progress)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(missing):
            raise DataError(
                f"encoder {encoder.name!r} returned shape {vectors.shape} for "
                f"{len(missing)} texts; expected ({len(missing)}, dim)"
            )
        store.add(list(missing), vectors)
    logger.info(
        "embedding cache: encoder=%s texts=%d encoded=%d folder=%s",
        encoder.name,
        len(texts),
        len(missing),
        folder,
    )
    if not texts:
        dim = store.dim if store.dim is not None else encoder.dim
        return np.zeros((0, dim), dtype=np.float32)
    return store.lookup(keys)


def item_embeddings(
    data: Interactions,
    encoder: ItemTextEncoder,
    *,
    template: str | Sequence[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    batch_size: int = 64,
    progress: bool | None = None,
) -> np.ndarray:
    """Text vectors for every item, rendered by a template and cached on disk.

    Args:
        data: The dataset; its ``item_table`` supplies the text.
        encoder: Any ``ItemTextEncoder``.
        template: See ``ssl4rec.text.templates.item_texts``.
        cache_dir: Embeddings root; ``None`` uses ``default_cache_dir()``.
        batch_size: Passed to ``encoder.encode``.
        progress: Passed to ``encoder.encode``.

    Returns:
        float32 array ``(data.num_items, dim)``; row ``i`` belongs to item index
        ``i``. Items without text get the encoder's vector for ``""`` (a warning
        from ``item_texts`` reports how many).
    """
    texts = item_texts(data, template)
    return encode_cached(
        encoder, texts, cache_dir=cache_dir, batch_size=batch_size, progress=progress
    )


# ---------------------------------------------------------------------- storage
@dataclass
class _Shard:
    file: str
    keys: np.ndarray  # (n, 32) uint8
    embeddings: np.ndarray  # (n, dim) float32
    sha256: str


class _Store:
    """The shards of one encoder folder, loaded and verified."""

    def __init__(self, folder: Path, encoder_name: str) -> None:
        self.folder = folder
        self.encoder_name = encoder_name
        self.dim: int | None = None
        self.shards: list[_Shard] = []
        self.rows: dict[bytes, tuple[int, int]] = {}  # key -> (shard position, row)
        self.rebuild = False  # the index was unusable: drop unreferenced shard files

    @classmethod
    def open(cls, folder: Path, encoder_name: str) -> _Store:
        store = cls(folder, encoder_name)
        index_path = folder / _INDEX
        if not index_path.exists():
            return store
        try:
            index = json.loads(index_path.read_text(encoding="utf-8"))
            entries = _validate_index(index, encoder_name)
        except (OSError, ValueError) as err:
            _warn(f"embedding cache index {str(index_path)!r} is unreadable ({err}); rebuilding")
            store.rebuild = True
            return store
        store.dim = index["dim"]
        for entry in entries:
            shard = store._load_shard(entry)
            if shard is not None:
                store._append(shard)
        return store

    def _load_shard(self, entry: dict[str, Any]) -> _Shard | None:
        path = self.folder / entry["file"]
        try:
            blob = path.read_bytes()
            if hashlib.sha256(blob).hexdigest() != entry["sha256"]:
                raise ValueError("checksum mismatch")
            from safetensors.numpy import load

            tensors = load(blob)
            keys, emb = tensors["keys"], tensors["embeddings"]
            if (
                keys.dtype != np.uint8
                or keys.ndim != 2
                or keys.shape[1] != _KEY_BYTES
                or emb.dtype != np.float32
                or emb.shape != (keys.shape[0], self.dim)
            ):
                raise ValueError(f"unexpected arrays keys={keys.shape} embeddings={emb.shape}")
        except Exception as err:  # any failure to read a shard means: re-encode it
            _warn(f"embedding cache shard {str(path)!r} is corrupt ({err}); its texts re-encode")
            self.rebuild = True
            return None
        return _Shard(entry["file"], keys, emb, entry["sha256"])

    def _append(self, shard: _Shard) -> None:
        pos = len(self.shards)
        self.shards.append(shard)
        for row, key in enumerate(shard.keys):
            self.rows.setdefault(key.tobytes(), (pos, row))

    def add(self, keys: list[bytes], vectors: np.ndarray) -> None:
        """Add new vectors, write them as a shard and rewrite the index."""
        if self.dim is not None and vectors.shape[1] != self.dim:
            # the encoder changed its output size under the same name: start over
            _warn(
                f"embedding cache {str(self.folder)!r} holds dim={self.dim} vectors but the "
                f"encoder returns dim={vectors.shape[1]}; rebuilding"
            )
            self.shards, self.rows, self.rebuild = [], {}, True
        self.dim = int(vectors.shape[1])
        key_arr = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), _KEY_BYTES)
        self._append(self._write_shard(key_arr, vectors))
        old: list[str] = []
        if len(self.shards) > _MAX_SHARDS:
            old = [s.file for s in self.shards]
            self._compact()
        self._write_index()
        self._remove_unreferenced(old)

    def lookup(self, keys: list[bytes]) -> np.ndarray:
        """Vectors for ``keys`` (all present), in order."""
        shard_pos = np.empty(len(keys), dtype=np.int64)
        rows = np.empty(len(keys), dtype=np.int64)
        for i, key in enumerate(keys):
            shard_pos[i], rows[i] = self.rows[key]
        assert self.dim is not None
        out = np.empty((len(keys), self.dim), dtype=np.float32)
        for pos, shard in enumerate(self.shards):
            sel = shard_pos == pos
            if sel.any():
                out[sel] = shard.embeddings[rows[sel]]
        return out

    def _compact(self) -> None:
        keys = np.concatenate([s.keys for s in self.shards])
        emb = np.concatenate([s.embeddings for s in self.shards])
        _, first = np.unique(keys, axis=0, return_index=True)
        first.sort()
        merged = self._write_shard(keys[first], emb[first])
        self.shards, self.rows = [], {}
        self._append(merged)
        logger.info("embedding cache compacted: folder=%s rows=%d", self.folder, len(first))

    def _write_shard(self, keys: np.ndarray, embeddings: np.ndarray) -> _Shard:
        from safetensors.numpy import save

        blob = save({"keys": np.ascontiguousarray(keys), "embeddings": embeddings})
        name = f"shard-{secrets.token_hex(8)}.safetensors"
        _atomic_write(self.folder / name, blob)
        return _Shard(name, keys, embeddings, hashlib.sha256(blob).hexdigest())

    def _write_index(self) -> None:
        index = {
            "format": _FORMAT,
            "encoder": self.encoder_name,
            "dim": self.dim,
            "shards": [
                {"file": s.file, "rows": int(s.keys.shape[0]), "sha256": s.sha256}
                for s in self.shards
            ],
        }
        _atomic_write(self.folder / _INDEX, json.dumps(index, indent=1).encode("utf-8"))

    def _remove_unreferenced(self, candidates: list[str]) -> None:
        """Delete merged shards, and after a rebuild every shard the index lacks."""
        live = {s.file for s in self.shards}
        names = set(candidates)
        if self.rebuild:
            names |= {p.name for p in self.folder.iterdir() if _SHARD_RE.match(p.name)}
        for name in sorted(names - live):
            try:
                (self.folder / name).unlink()
            except OSError:  # already gone or not ours to delete; harmless
                pass


def _validate_index(index: Any, encoder_name: str) -> list[dict[str, Any]]:
    if not isinstance(index, dict) or index.get("format") != _FORMAT:
        raise ValueError(f"expected format {_FORMAT}")
    if index.get("encoder") != encoder_name:
        raise ValueError(f"written for encoder {index.get('encoder')!r}")
    dim, shards = index.get("dim"), index.get("shards")
    if not isinstance(dim, int) or dim < 1 or not isinstance(shards, list):
        raise ValueError("missing dim or shard list")
    for entry in shards:
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("file"), str)
            or not _SHARD_RE.match(entry["file"])
            or not isinstance(entry.get("sha256"), str)
        ):
            raise ValueError(f"bad shard entry {entry!r}")
    return shards


def _atomic_write(path: Path, blob: bytes) -> None:
    """Write ``blob`` to a temporary file next to ``path``, then move it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _warn(message: str) -> None:
    # stacklevel 4: _warn <- _Store method <- _Store.open/add <- encode_cached's caller
    warnings.warn(message, RuntimeWarning, stacklevel=4)
