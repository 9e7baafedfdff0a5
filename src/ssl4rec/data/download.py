"""Checked, resumable downloads and safe archive extraction."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path
from typing import Literal

from ssl4rec.errors import DataError

__all__ = ["download", "extract_archive", "sha256_file"]

logger = logging.getLogger(__name__)

_CHUNK = 1 << 16


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _progress_enabled(progress: bool | Literal["always"]) -> bool:
    if progress == "always":
        return True
    return bool(progress) and sys.stderr.isatty()


def download(
    url: str,
    dest: str | Path,
    *,
    sha256: str | None = None,
    progress: bool | Literal["always"] = True,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` to ``dest``, resuming a partial download and checking sha256.

    Bytes go to ``dest.part``; when that file already exists the download resumes
    with an HTTP ``Range`` request (a server that ignores it is answered by starting
    over). Only a complete file whose checksum matches is renamed onto ``dest``
    (``os.replace``), so an existing good ``dest`` is never damaged.

    Args:
        url: ``http(s)://`` or ``file://`` URL.
        dest: the final file path; its folder is created.
        sha256: expected hex digest; ``None`` skips the check (the digest is logged).
            When ``dest`` already exists with this digest nothing is downloaded.
        progress: ``True`` shows a tqdm bar on stderr when it is a terminal,
            ``"always"`` shows it anyway, ``False`` never.
        timeout: socket timeout in seconds.

    Returns:
        ``dest``.

    Raises:
        DataError: the download failed (the url and reason are named) or the checksum
            does not match (the url, expected and actual digests are named; the
            partial file is deleted).
    """
    dest = Path(dest)
    if sha256 is not None and dest.is_file() and sha256_file(dest) == sha256.lower():
        logger.info("%s already present with the expected sha256", dest)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    _fetch_into(url, part, progress=progress, timeout=timeout)
    actual = sha256_file(part)
    if sha256 is not None and actual != sha256.lower():
        part.unlink(missing_ok=True)
        raise DataError(
            f"checksum mismatch for {url}: expected sha256 {sha256.lower()}, got {actual}; "
            "the partial download was deleted"
        )
    if sha256 is None:
        logger.info("downloaded %s (sha256 %s, not checked)", url, actual)
    os.replace(part, dest)
    return dest


def _fetch_into(
    url: str, part: Path, *, progress: bool | Literal["always"], timeout: float
) -> None:
    """Write ``url`` into ``part``, resuming from its current size when possible."""
    from tqdm.auto import tqdm

    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https", "file"):
        raise DataError(f"download: url must be http(s):// or file://; got {url[:100]!r}")
    offset = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "ssl4rec"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        # scheme checked above: http(s) or file, as documented
        response = urllib.request.urlopen(request, timeout=timeout)  # nosec B310
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # range not satisfiable: start over
            logger.info("server refused to resume %s; downloading it again", url)
            part.unlink()
            return _fetch_into(url, part, progress=progress, timeout=timeout)
        raise DataError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DataError(f"download of {url} failed: {reason}") from None
    with response:
        status = getattr(response, "status", 200)
        resumed = offset > 0 and status == 206
        if resumed and not str(response.headers.get("Content-Range", "")).startswith(
            f"bytes {offset}-"
        ):
            logger.info("server resumed %s at the wrong offset; downloading it again", url)
            part.unlink()
            return _fetch_into(url, part, progress=progress, timeout=timeout)
        if offset and not resumed:
            logger.info("server ignored the Range request for %s; downloading it all", url)
            offset = 0
        length = response.headers.get("Content-Length")
        total = int(length) + offset if length is not None else None
        mode = "ab" if resumed else "wb"
        with (
            part.open(mode) as out,
            tqdm(
                total=total,
                initial=offset,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=part.name[: -len(".part")],
                disable=not _progress_enabled(progress),
                file=sys.stderr,
            ) as bar,
        ):
            try:
                for block in iter(lambda: response.read(_CHUNK), b""):
                    out.write(block)
                    bar.update(len(block))
            except OSError as exc:
                raise DataError(
                    f"download of {url} interrupted ({exc}); call again to resume from {part}"
                ) from None
    if total is not None and part.stat().st_size != total:
        raise DataError(
            f"download of {url} incomplete: {part.stat().st_size} of {total} bytes; "
            f"call again to resume from {part}"
        )


def _check_member(name: str, target: Path) -> Path:
    """Resolved path of an archive member, refusing absolute paths and ``..`` escapes."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise DataError(f"archive member {name!r} has an absolute path; refusing to extract")
    resolved = (target / name).resolve()
    if not resolved.is_relative_to(target.resolve()):
        raise DataError(f"archive member {name!r} would be written outside {target}; refusing")
    return resolved


def extract_archive(archive: str | Path, target: str | Path) -> Path:
    """Extract a zip or tar(.gz/.bz2/.xz) archive into ``target``.

    Every member path is checked first; links in tar files are refused. Members
    are extracted into a temporary folder next to ``target`` which then replaces
    ``target`` (an existing ``target`` is removed only after a successful extract).

    Args:
        archive: the archive file.
        target: the folder that will hold the archive's content.

    Returns:
        ``target``.

    Raises:
        DataError: not an archive, or a member that escapes ``target``.
    """
    archive, target = Path(archive), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    _check_member(info.filename, tmp)
                # every member was checked above: none escapes the target folder
                zf.extractall(tmp)  # nosec B202
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tf:
                members = tf.getmembers()
                for member in members:
                    _check_member(member.name, tmp)
                    if member.issym() or member.islnk():
                        raise DataError(
                            f"{archive}: member {member.name!r} is a link; refusing to extract"
                        )
                tf.extractall(tmp, members=members, filter="data")
        else:
            raise DataError(f"{archive}: not a zip or tar archive")
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
