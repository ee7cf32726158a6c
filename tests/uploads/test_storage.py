"""Path confinement of stored files (streampanel.storage)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from streampanel.errors import InvalidParameter, UnknownObject
from streampanel.storage import resolve_stored_file


@pytest.fixture
def roots(tmp_path: Path) -> list[Path]:
    root = tmp_path / "sestore3"
    (root / "jb" / "videos").mkdir(parents=True)
    (root / "jb" / "videos" / "a.mp4").write_bytes(b"video")
    (root / "other").mkdir()
    (root / "other" / "secret.mp4").write_bytes(b"secret")
    (tmp_path / "outside.mp4").write_bytes(b"outside")
    return [root]


def test_resolves_a_file_of_the_accounts_storage_user(roots: list[Path]) -> None:
    found = resolve_stored_file(roots, ["jb"], "sestore3/jb/videos/a.mp4")
    assert (found.root, found.user, found.relative) == ("sestore3", "jb", "videos/a.mp4")
    assert found.absolute == (roots[0] / "jb/videos/a.mp4").resolve()


@pytest.mark.parametrize(
    "path",
    [
        "sestore3/jb/../other/secret.mp4",
        "sestore3/jb/videos/../../other/secret.mp4",
        "../sestore3/jb/videos/a.mp4",
        "/sestore3/jb/videos/a.mp4",
        str(Path("/etc/passwd")),
        "sestore3/other/secret.mp4",  # another account's storage user
        "sestore9/jb/videos/a.mp4",  # not a configured root
        "sestore3/jb",
        "sestore3/jb//videos/a.mp4",
        "sestore3/jb/./videos/a.mp4",
        "sestore3\\jb\\videos\\a.mp4",
        "",
    ],
)
def test_refuses_paths_leaving_the_users_tree(roots: list[Path], path: str) -> None:
    with pytest.raises(InvalidParameter) as raised:
        resolve_stored_file(roots, ["jb"], path)
    assert "'path'" in raised.value.message


def test_refuses_symlinks_leading_out(roots: list[Path], tmp_path: Path) -> None:
    user = roots[0] / "jb"
    os.symlink(tmp_path / "outside.mp4", user / "link.mp4")
    os.symlink(roots[0] / "other", user / "neighbour")
    for path in ("sestore3/jb/link.mp4", "sestore3/jb/neighbour/secret.mp4"):
        with pytest.raises(InvalidParameter):
            resolve_stored_file(roots, ["jb"], path)


def test_symlink_inside_the_tree_is_followed(roots: list[Path]) -> None:
    user = roots[0] / "jb"
    os.symlink(user / "videos" / "a.mp4", user / "latest.mp4")
    found = resolve_stored_file(roots, ["jb"], "sestore3/jb/latest.mp4")
    assert found.absolute == (user / "videos" / "a.mp4").resolve()


def test_missing_file_is_not_found_and_directory_is_refused(roots: list[Path]) -> None:
    with pytest.raises(UnknownObject):
        resolve_stored_file(roots, ["jb"], "sestore3/jb/videos/missing.mp4")
    with pytest.raises(InvalidParameter):
        resolve_stored_file(roots, ["jb"], "sestore3/jb/videos")


def test_missing_file_behind_an_outward_symlink_is_refused_not_found(
    roots: list[Path], tmp_path: Path
) -> None:
    os.symlink(tmp_path, roots[0] / "jb" / "up")
    with pytest.raises(InvalidParameter):
        resolve_stored_file(roots, ["jb"], "sestore3/jb/up/nothing.mp4")
