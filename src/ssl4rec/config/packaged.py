"""YAML files shipped inside the package, found by name: ready experiments and suites.

A name resolves to ``<package>/<folder>/<name>.yaml``; an existing file path always
wins over a name, so a user's own file is never shadowed.
"""

from __future__ import annotations

import difflib
from importlib import resources
from pathlib import Path

from ssl4rec.errors import ConfigError

__all__ = ["config_path", "list_configs", "packaged_names", "packaged_path"]


def packaged_names(package: str, folder: str) -> list[str]:
    """Names (file stems) of the YAML files in ``package``'s ``folder``, sorted."""
    root = resources.files(package) / folder
    return sorted(p.name.removesuffix(".yaml") for p in root.iterdir() if p.name.endswith(".yaml"))


def packaged_path(name_or_path: str | Path, *, package: str, folder: str, what: str) -> Path:
    """``name_or_path`` when it is a file, else the shipped YAML of that name.

    Args:
        name_or_path: a file path, or a name with or without ``.yaml``.
        package: the package holding the files (``"ssl4rec"``).
        folder: the folder inside it (``"configs"``).
        what: how errors call the file (``"experiment config"``).

    Raises:
        ConfigError: neither an existing file nor a shipped name; the names are listed.
    """
    path = Path(name_or_path)
    if path.is_file():
        return path
    name = str(name_or_path).removesuffix(".yaml")
    shipped = resources.files(package) / folder / f"{name}.yaml"
    if shipped.is_file():
        return Path(str(shipped))
    names = packaged_names(package, folder)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(
        f"{what} {str(name_or_path)!r} is neither a file nor a shipped name{hint}; "
        f"shipped: {names}"
    )


def list_configs() -> list[str]:
    """Names of the experiment configs shipped with ssl4rec (``ssl4rec configs list``)."""
    return packaged_names("ssl4rec", "configs")


def config_path(name_or_path: str | Path) -> Path:
    """A shipped experiment config by name (``ease-ml100k``), or a file path as given."""
    return packaged_path(name_or_path, package="ssl4rec", folder="configs", what="experiment config")
