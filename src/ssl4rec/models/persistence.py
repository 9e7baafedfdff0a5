"""Saving and loading fitted models: one folder, no pickle.

A saved model is a folder with ``config.yaml`` (the model's registry name and its
config), ``weights.safetensors`` (module state dicts under ``<module>.`` and
non-module tensors under ``extra.``), ``history.safetensors`` (the training
histories), ``vocab.json`` (raw user and item ids), ``meta.json`` (version, sizes,
fit time, training summary, and the sha256 of every other file) and, when the
training data had one, ``items.parquet`` (the item table).

Loading verifies each file against the digest in ``meta.json`` before reading it and
refuses weights that are not finite, so a damaged or altered folder fails with one
line naming the file instead of serving plausible nonsense.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import torch

from ssl4rec.config.base import from_dict, to_dict
from ssl4rec.config.yaml_io import dump_yaml, load_yaml
from ssl4rec.data.download import sha256_file
from ssl4rec.data.interactions import IdVocab, Interactions
from ssl4rec.errors import ConfigError, DataError
from ssl4rec.models.history import History
from ssl4rec.models.packing import apply_runtime, pack_tensors, unpack_tensors
from ssl4rec.privacy.crypto import current_key, decrypt_bytes, encrypt_bytes, is_encrypted
from ssl4rec.training.checkpoint import check_finite

if TYPE_CHECKING:
    from ssl4rec.models.base import Recommender

__all__ = [
    "PERSONAL_FILES",
    "encrypt_personal_files",
    "forget_user",
    "load_model",
    "restore_model",
    "save_model",
    "verify_files",
]

PERSONAL_FILES = ("history.safetensors", "vocab.json")
"""Files of a saved model that hold personal data (user histories, user ids)."""

logger = logging.getLogger(__name__)


def save_model(
    model: Recommender[Any],
    directory: str | Path,
    *,
    pack: Mapping[str, str] | None = None,
    meta_extra: Mapping[str, Any] | None = None,
    attach: Mapping[str, Path] | None = None,
) -> Path:
    """Write a fitted ``model`` into ``directory`` (see the module docstring for the files).

    Files are written to a temporary folder first and moved into place, so an
    existing saved model is replaced only by a complete one; other files already in
    ``directory`` (metrics, logs of a run folder) are kept.

    Args:
        model: a fitted model.
        directory: the folder to write; created with its parents when missing.
        pack: weight name -> storage codec (``ssl4rec.models.packing``; compression).
        meta_extra: more entries for ``meta.json`` (e.g. the compression record).
        attach: more files to copy into the folder (name -> source), digested too.

    Returns:
        ``directory`` as a ``Path``.
    """
    from safetensors.torch import save_file

    assert model.history is not None and model.user_vocab and model.item_vocab
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=directory.parent))
    try:
        dump_yaml({"name": model.name, **to_dict(model.config)}, tmp / "config.yaml")
        tensors: dict[str, torch.Tensor] = {}
        for mod_name, module in model.modules().items():
            for key, value in module.state_dict().items():
                tensors[f"{mod_name}.{key}"] = value.detach().cpu().contiguous()
        for key, value in model.extra_state().items():
            tensors[f"extra.{key}"] = value.detach().cpu().contiguous()
        if pack:
            tensors = pack_tensors(tensors, pack)
        save_file(tensors, str(tmp / "weights.safetensors"))
        for name, source in (attach or {}).items():
            shutil.copyfile(source, tmp / name)
        if model.privacy is None:  # a private model ships no raw histories
            save_file(
                {
                    "indptr": torch.from_numpy(model.history.indptr.astype(np.int64)),
                    "items": torch.from_numpy(model.history.items.astype(np.int32)),
                },
                str(tmp / "history.safetensors"),
            )
        # a private model ships neither histories nor the ids of its training users
        users = model.user_vocab.to_list() if model.privacy is None else []
        vocab = {"users": users, "items": model.item_vocab.to_list()}
        (tmp / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
        if model.item_table is not None:
            model.item_table.write_parquet(tmp / "items.parquet")
        from ssl4rec import __version__

        meta = {
            "ssl4rec_version": __version__,
            "model": model.name,
            "num_users": model.num_users,
            "num_items": model.num_items,
            "fit_seconds": model.fit_seconds,
            "train_summary": _jsonable(model.train_summary),
            "privacy": _jsonable(model.privacy),
            **_jsonable(dict(meta_extra or {})),
            "files": {f.name: sha256_file(f) for f in sorted(tmp.iterdir())},
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        if directory.exists():
            # keep files that are not ours (metrics.json, logs) from a run folder
            for f in tmp.iterdir():
                os.replace(f, directory / f.name)
            tmp.rmdir()
        else:
            os.replace(tmp, directory)
    finally:
        if tmp.exists():
            for f in tmp.iterdir():
                f.unlink()
            tmp.rmdir()
    return directory


def restore_model(model: Recommender[Any], directory: Path) -> None:
    """Fill a freshly constructed ``model`` with the state saved in ``directory``.

    Vocabularies, item table and histories are read first; then ``model.build`` runs
    on an empty ``Interactions`` with the saved vocabularies, and the saved weights
    are loaded into its modules (which are left in eval mode) and ``load_extra_state``.

    Raises:
        DataError: a missing or corrupt file, or weights that do not fit the modules.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load, load_file

    vocab = _read_json(directory / "vocab.json")
    meta = _read_json(directory / "meta.json")
    private = meta.get("privacy") is not None
    try:
        hist = None if private else load(_read_bytes(directory / "history.safetensors"))
        weights = load_file(str(directory / "weights.safetensors"))
    except (SafetensorError, OSError) as err:
        raise DataError(f"{directory}: cannot read saved tensors: {err}") from None
    weights = unpack_tensors(weights, source=directory / "weights.safetensors")
    check_finite(weights, directory / "weights.safetensors")
    items_path = directory / "items.parquet"
    item_table = None
    if items_path.is_file():
        try:
            item_table = pl.read_parquet(items_path)
        except (pl.exceptions.PolarsError, OSError) as err:
            raise DataError(f"{items_path}: cannot read the item table: {err}") from None
    user_vocab = IdVocab(vocab["users"], name="user")
    item_vocab = IdVocab(vocab["items"], name="item")
    empty = np.zeros(0, dtype=np.int32)
    skeleton = Interactions(
        users=empty,
        items=empty,
        weights=np.zeros(0, dtype=np.float32),
        timestamps=np.zeros(0, dtype=np.int64),
        user_vocab=user_vocab,
        item_vocab=item_vocab,
        item_table=item_table,
    )
    model.user_vocab, model.item_vocab, model.item_table = user_vocab, item_vocab, item_table
    if hist is None:  # private: no histories saved; serving reads them from the event store
        model.history = History(
            indptr=np.zeros(len(user_vocab) + 1, dtype=np.int64),
            items=np.zeros(0, dtype=np.int32),
            num_items=len(item_vocab),
        )
    else:
        model.history = History(
            indptr=hist["indptr"].numpy().astype(np.int64),
            items=hist["items"].numpy().astype(np.int32),
            num_items=len(item_vocab),
        )
    model.build(skeleton)
    for mod_name, module in model.modules().items():
        prefix = f"{mod_name}."
        state = {k[len(prefix) :]: v for k, v in weights.items() if k.startswith(prefix)}
        try:
            module.load_state_dict(state)
        except RuntimeError as err:
            raise DataError(
                f"{directory / 'weights.safetensors'}: weights do not match the model: {err}"
            ) from None
        module.eval()
    extra = {k[len("extra.") :]: v for k, v in weights.items() if k.startswith("extra.")}
    model.load_extra_state(extra)
    meta = _read_json(directory / "meta.json")
    runtime = (meta.get("compression") or {}).get("runtime")
    if runtime:
        apply_runtime(model.modules(), runtime)
    model.privacy = meta.get("privacy")
    model.fit_seconds = meta.get("fit_seconds")
    model.train_summary = meta.get("train_summary") or {}


def load_model(directory: str | Path) -> Recommender[Any]:
    """Load any saved model; the class comes from ``config.yaml``'s ``name``.

    Raises:
        DataError: a missing or corrupt file, named.
        ConfigError: an unknown model name or invalid config.
    """
    from ssl4rec.models.registry import get_model_class  # the registry imports the models

    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory}: model folder not found")
    verify_files(directory)
    cfg_path = directory / "config.yaml"
    raw = load_yaml(cfg_path)
    name = raw.pop("name", None)
    if not isinstance(name, str):
        raise ConfigError(f"{cfg_path}: missing 'name' of the model")
    model_cls = get_model_class(name)
    config = from_dict(model_cls.config_class, raw)
    model = model_cls(config)
    model._restore(directory)  # the model's own hook (sequential models extend it)
    return model


def verify_files(directory: Path) -> None:
    """Check every file listed in ``meta.json`` against its recorded sha256.

    Folders saved before digests were recorded load with a warning.

    Raises:
        DataError: a listed file is missing or its digest differs (the file is named).
    """
    files = _read_json(directory / "meta.json").get("files")
    if not isinstance(files, dict):
        logger.warning("no file digests in %s; saved by an older ssl4rec, not verified", directory)
        return
    for name, expected in files.items():
        path = directory / str(name)
        if not path.is_file():
            raise DataError(f"{path}: missing; meta.json lists it as part of the model")
        if sha256_file(path) != expected:
            raise DataError(
                f"{path}: sha256 differs from the one meta.json recorded when the model was "
                "saved: the file changed or is damaged"
            )


def encrypt_personal_files(directory: str | Path, key: bytes) -> list[str]:
    """Encrypt the ``PERSONAL_FILES`` of a saved model in place (AES-GCM, ``privacy.crypto``).

    ``meta.json`` records the new digests; loading then needs the key. Files already
    encrypted are left as they are.

    Returns:
        The names of the files encrypted now.
    """
    directory = Path(directory)
    verify_files(directory)
    done = []
    for name in PERSONAL_FILES:
        path = directory / name
        if not path.is_file():
            continue
        data = path.read_bytes()
        if is_encrypted(data):
            continue
        _replace_file(path, encrypt_bytes(key, data, name=name))
        done.append(name)
    _record_digests(directory)
    return done


def forget_user(directory: str | Path, user: str) -> int:
    """Remove ``user``'s training history from a saved model folder.

    The user stays in the vocabulary with an empty history, so the weights still
    load; an encrypted history stays encrypted (with the key of ``using_key`` or
    ``$SSL4REC_DB_KEY``).

    Returns:
        How many of the user's events were removed (0: none stored, e.g. a private run).

    Raises:
        UnknownIdError: the user is not in the folder's vocabulary.
    """
    from safetensors.torch import load, save

    directory = Path(directory)
    verify_files(directory)
    vocab = IdVocab(_read_json(directory / "vocab.json")["users"], name="user")
    index = vocab.index(user)
    path = directory / "history.safetensors"
    if not path.is_file():
        return 0
    raw = path.read_bytes()
    hist = load(_read_bytes(path))
    history = History(
        indptr=hist["indptr"].numpy().astype(np.int64),
        items=hist["items"].numpy().astype(np.int32),
        num_items=0,
    )
    removed = len(history.sequence(index))
    if removed:
        kept = history.without_user(index)
        data = save(
            {
                "indptr": torch.from_numpy(kept.indptr.astype(np.int64)),
                "items": torch.from_numpy(kept.items.astype(np.int32)),
            }
        )
        if is_encrypted(raw):
            key = current_key()
            if key is None:
                raise DataError(f"{path}: encrypted; pass its key (--db-key-file or $SSL4REC_DB_KEY)")
            data = encrypt_bytes(key, data, name=path.name)
        _replace_file(path, data)
        _record_digests(directory)
    logger.info("forgot a user in %s: events=%d", directory, removed)
    return removed


def _replace_file(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _record_digests(directory: Path) -> None:
    meta_path = directory / "meta.json"
    meta = _read_json(meta_path)
    meta["files"] = {name: sha256_file(directory / name) for name in meta.get("files", {})}
    _replace_file(meta_path, json.dumps(meta, indent=2).encode())


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, decrypted when it is encrypted (``privacy.crypto``)."""
    if not path.is_file():
        raise DataError(f"{path}: not found; not a saved ssl4rec model folder")
    data = path.read_bytes()
    if is_encrypted(data):
        data = decrypt_bytes(current_key(), data, name=path.name, path=path)
    return data


def _read_json(path: Path) -> dict[str, Any]:
    data_bytes = _read_bytes(path)
    try:
        data = json.loads(data_bytes.decode("utf-8"))
    except json.JSONDecodeError as err:
        raise DataError(f"{path}:{err.lineno}: invalid JSON: {err.msg}") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object")
    return data


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return str(value)
