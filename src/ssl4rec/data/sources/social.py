"""User-user edges (trust, friendship) for the social graph models (``data.social``).

Two-column delimited files, one edge per line, an optional header line:

- Ciao / Epinions (Tang et al., 2012): ``trustnetwork.tsv`` (truster, trustee);
- HetRec 2011 Last.fm: ``user_friends.dat`` (userID, friendID; each friendship is
  listed both ways).

Further columns (a trust value, a timestamp) are ignored. Edges are undirected for the
models: a trust statement links the two users both ways.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ssl4rec.data.interactions import IdVocab
from ssl4rec.data.sources._io import check_file, read_text, sep_name
from ssl4rec.errors import DataError

__all__ = ["load_social_edges"]

logger = logging.getLogger(__name__)

_SEPARATORS = ("\t", ",", ";", " ")


def load_social_edges(
    path: str | Path, users: IdVocab, *, separator: str | None = None
) -> np.ndarray:
    """Read user-user edges and map them to the indices of ``users``.

    Args:
        path: the edge file (``.gz`` is decompressed).
        users: the user vocabulary of the interactions the edges go with (raw ids as
            strings, as in the ratings file).
        separator: field separator; ``None`` guesses from the first line (TAB, comma,
            semicolon or space).

    Returns:
        ``(s, 2)`` int64 user-index pairs, duplicates and self-loops removed, in file
        order. Edges naming a user without interactions are dropped (their count is
        logged).

    Raises:
        DataError: a missing or empty file, a line without two fields (its number and
            content), or no edge between two known users (the ids do not match).
    """
    path = check_file(path, what="social edge file")
    lines = read_text(path).splitlines()
    first = next((line for line in lines if line.strip()), "")
    sep = separator or next((s for s in _SEPARATORS if len(first.split(s)) >= 2), None)
    if sep is None:
        raise DataError(
            f"{path}, line 1: expected two user ids separated by TAB, ',', ';' or ' '; "
            f"got {first[:80]!r}"
        )
    pairs: list[tuple[str, str]] = []
    start = 0
    head = [f.strip() for f in first.split(sep)]
    if not (_is_id_like(head[0]) and _is_id_like(head[1])):
        start = lines.index(first) + 1  # a header line: "trustor\ttrustee", "userID\tfriendID"
    for number, line in enumerate(lines[start:], start=start + 1):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(sep)]
        if len(fields) < 2 or not fields[0] or not fields[1]:
            raise DataError(
                f"{path}, line {number}: expected two user ids separated by "
                f"{sep_name(sep)}; got {line[:80]!r}"
            )
        pairs.append((fields[0], fields[1]))
    if not pairs:
        raise DataError(f"{path}: no edges (only a header line)")
    index = {raw: i for i, raw in enumerate(users.to_list())}
    mapped = [(index.get(a), index.get(b)) for a, b in pairs]
    known = np.array([(a, b) for a, b in mapped if a is not None and b is not None], dtype=np.int64)
    if len(known) == 0:
        sample = ", ".join(repr(a) for a, _ in pairs[:3])
        raise DataError(
            f"{path}: none of the {len(pairs)} edges joins two users of the interactions "
            f"(edge ids {sample}...; user ids look like {users.to_list()[:3]}); do the two "
            f"files use the same user ids?"
        )
    known = known.reshape(-1, 2)
    known = known[known[:, 0] != known[:, 1]]
    _, first_seen = np.unique(known, axis=0, return_index=True)
    edges = known[np.sort(first_seen)]
    dropped = len(pairs) - len(known)
    logger.info(
        "social edges: %d from %s (%d naming users without interactions dropped)",
        len(edges),
        path,
        dropped,
    )
    return edges


def _is_id_like(field: str) -> bool:
    """Whether a first-line field looks like a user id rather than a column name."""
    return field.isdigit() or (
        len(field) > 0 and any(ch.isdigit() for ch in field) and " " not in field
    )
