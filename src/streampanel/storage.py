"""Stored files: resolving a client's ``sestoreN/<storage user>/...`` path inside the roots.

``Settings.storage_roots`` are directories named ``sestoreN``, each holding one tree per
storage user.  A client path is confined to the trees of its own account's storage users:
``..``, absolute paths, and symlinks that lead out of the user's tree are refused (400), as
is a storage user of another account — with the same answer whether or not it exists, so
paths cannot be probed.  A well-formed path to nothing is a 404.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from streampanel.errors import InvalidParameter, UnknownObject

PATH_EXPECTED = "a stored file path sestoreN/<storage user>/... of your account"


@dataclass(frozen=True)
class StoredFile:
    path: str  # as the client wrote it, normalised: sestoreN/user/rest
    root: str  # sestoreN
    user: str
    relative: str  # the part after sestoreN/user/
    absolute: Path  # fully resolved, inside root/user


def _roots_by_name(roots: Iterable[Path]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for root in roots:
        # The first root of a name wins; a misconfiguration must not widen access.
        found.setdefault(Path(root).name, Path(root))
    return found


def resolve_stored_file(
    roots: Iterable[Path], storage_users: Iterable[str], path: str, field: str = "path"
) -> StoredFile:
    """The stored file a client path names, or ``InvalidParameter`` / ``UnknownObject``."""
    bad = InvalidParameter(field, PATH_EXPECTED)
    if not path or "\x00" in path or "\\" in path or path.startswith("/"):
        raise bad
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts) or len(parts) < 3:
        raise bad
    root_name, user, *rest = parts
    root = _roots_by_name(roots).get(root_name)
    if root is None or user not in set(storage_users):
        raise bad
    base = (root / user).resolve()
    candidate = base.joinpath(*rest)
    # resolve() follows every symlink on the way; the result must stay under the user's tree.
    absolute = candidate.resolve()
    if absolute != base and base not in absolute.parents:
        raise bad
    if not absolute.exists():
        raise UnknownObject("file", path)
    if not absolute.is_file():
        raise InvalidParameter(field, "a path to a file, not a directory")
    if not os.access(absolute, os.R_OK):
        raise UnknownObject("file", path)
    return StoredFile(path, root_name, user, "/".join(rest), absolute)
