"""Path confinement of stored files (streampanel.storage): opened once, beneath the tenant's tree.

Every test runs twice: with the kernel's ``openat2(RESOLVE_BENEATH)`` and with the
component walk used where the kernel has none; both must give the same answers.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from streampanel import storage
from streampanel.errors import InvalidParameter, UnknownObject
from streampanel.storage import StoredFile, open_stored_file
from tests.uploads.exchange import ExchangeLoop


@pytest.fixture(params=["openat2", "walk"])
def resolution(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "openat2" and not storage._openat2_usable:
        pytest.skip("this kernel has no openat2")
    if request.param == "walk":
        monkeypatch.setattr(storage, "_openat2_usable", False)
    return str(request.param)


@pytest.fixture
def roots(tmp_path: Path, resolution: str) -> list[Path]:
    root = tmp_path / "sestore3"
    (root / "jb" / "videos").mkdir(parents=True)
    (root / "jb" / "videos" / "a.mp4").write_bytes(b"video")
    (root / "other").mkdir()
    (root / "other" / "secret.mp4").write_bytes(b"secret")
    (tmp_path / "outside.mp4").write_bytes(b"outside")
    return [root]


def _content(found: StoredFile) -> bytes:
    with found:
        return os.pread(found.fd, found.size + 1, 0)


def _open(roots: list[Path], path: str) -> bytes:
    return _content(open_stored_file(roots, ["jb"], path))


def test_opens_a_file_of_the_accounts_storage_user(roots: list[Path]) -> None:
    found = open_stored_file(roots, ["jb"], "sestore3/jb/videos/a.mp4")
    assert (found.where.root, found.where.user, found.relative) == (
        "sestore3",
        "jb",
        "videos/a.mp4",
    )
    assert (found.path, found.name, found.size) == ("sestore3/jb/videos/a.mp4", "a.mp4", 5)
    assert _content(found) == b"video"
    assert found.fd == -1  # closed by the with block


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
        "sestore3/jb/videos/a.mp4\x00",
        "",
    ],
)
def test_refuses_paths_leaving_the_users_tree(roots: list[Path], path: str) -> None:
    with pytest.raises(InvalidParameter) as raised:
        open_stored_file(roots, ["jb"], path)
    assert "'path'" in raised.value.message


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("link.mp4", "{tmp}/outside.mp4"),  # absolute, out of every root
        ("up.mp4", "../../outside.mp4"),  # relative, climbing out
        ("neighbour", "{root}/other"),  # another tenant's tree, absolute
        ("next-door", "../other"),  # another tenant's tree, relative
        ("deep", "videos/../../other"),  # down, then out
    ],
)
def test_refuses_symlinks_leading_out(
    roots: list[Path], tmp_path: Path, name: str, target: str
) -> None:
    user = roots[0] / "jb"
    os.symlink(target.format(tmp=tmp_path, root=roots[0]), user / name)
    path = f"sestore3/jb/{name}" if name.endswith(".mp4") else f"sestore3/jb/{name}/secret.mp4"
    with pytest.raises(InvalidParameter):
        open_stored_file(roots, ["jb"], path)


def test_relative_symlinks_that_stay_inside_are_followed(roots: list[Path]) -> None:
    user = roots[0] / "jb"
    os.symlink("videos/a.mp4", user / "latest.mp4")
    os.symlink("../videos", user / "videos" / "again")  # a directory, via ..
    os.symlink("latest.mp4", user / "chain.mp4")  # a link to a link
    for path in (
        "sestore3/jb/latest.mp4",
        "sestore3/jb/videos/again/a.mp4",
        "sestore3/jb/videos/again/again/again/a.mp4",
        "sestore3/jb/chain.mp4",
    ):
        assert _open(roots, path) == b"video", path


def test_absolute_symlinks_are_refused_even_into_the_tree(roots: list[Path]) -> None:
    """An absolute target is the server's view of the disk, not the tenant's: refused."""
    user = roots[0] / "jb"
    os.symlink(user / "videos" / "a.mp4", user / "latest.mp4")
    with pytest.raises(InvalidParameter):
        open_stored_file(roots, ["jb"], "sestore3/jb/latest.mp4")


def test_a_symlink_loop_is_refused(roots: list[Path]) -> None:
    user = roots[0] / "jb"
    os.symlink("b.mp4", user / "a.mp4")
    os.symlink("a.mp4", user / "b.mp4")
    with pytest.raises(InvalidParameter):
        open_stored_file(roots, ["jb"], "sestore3/jb/a.mp4")


def test_the_operators_symlink_for_a_users_tree_is_followed(
    roots: list[Path], tmp_path: Path
) -> None:
    """The ``<storage user>`` entry belongs to the operator (the tenant cannot change it):
    it may point at another disk."""
    elsewhere = tmp_path / "disk2" / "carol"
    elsewhere.mkdir(parents=True)
    (elsewhere / "c.mp4").write_bytes(b"carol")
    os.symlink(elsewhere, roots[0] / "carol")
    assert _content(open_stored_file(roots, ["carol"], "sestore3/carol/c.mp4")) == b"carol"


def test_missing_file_is_not_found_and_directory_is_refused(roots: list[Path]) -> None:
    with pytest.raises(UnknownObject):
        open_stored_file(roots, ["jb"], "sestore3/jb/videos/missing.mp4")
    with pytest.raises(UnknownObject):
        open_stored_file(roots, ["jb"], "sestore3/jb/videos/a.mp4/below")
    with pytest.raises(InvalidParameter) as raised:
        open_stored_file(roots, ["jb"], "sestore3/jb/videos")
    assert "not a directory" in raised.value.message
    os.symlink("..", roots[0] / "jb" / "videos" / "parent")
    with pytest.raises(InvalidParameter):
        open_stored_file(roots, ["jb"], "sestore3/jb/videos/parent")


def test_a_named_pipe_is_refused_without_blocking(roots: list[Path]) -> None:
    os.mkfifo(roots[0] / "jb" / "pipe.mp4")
    with pytest.raises(InvalidParameter) as raised:
        open_stored_file(roots, ["jb"], "sestore3/jb/pipe.mp4")
    assert "regular file" in raised.value.message


def test_missing_file_behind_an_outward_symlink_is_refused_not_found(
    roots: list[Path], tmp_path: Path
) -> None:
    os.symlink(tmp_path, roots[0] / "jb" / "up")
    with pytest.raises(InvalidParameter):
        open_stored_file(roots, ["jb"], "sestore3/jb/up/nothing.mp4")


def test_reads_go_to_the_opened_file_whatever_the_path_becomes(
    roots: list[Path], tmp_path: Path
) -> None:
    user = roots[0] / "jb"
    with open_stored_file(roots, ["jb"], "sestore3/jb/videos/a.mp4") as found:
        (user / "videos").rename(user / "videos.orig")
        os.symlink(roots[0] / "other", user / "videos")
        assert os.pread(found.fd, 100, 0) == b"video"


@pytest.mark.parametrize("target", ["absolute", "relative"])
def test_a_directory_swapped_with_an_outward_symlink_never_opens_outside(
    roots: list[Path], tmp_path: Path, target: str
) -> None:
    """``renameat2(RENAME_EXCHANGE)`` swaps ``race`` (a directory of the tenant) with a
    symlink to a data directory, as fast as it can, while the path is opened again and
    again: every open is the tenant's file or a refusal, never the outside file."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "master.key").write_bytes(b"SECRET-MASTER-KEY-0123456789")
    user = roots[0] / "jb"
    (user / "race").mkdir()
    (user / "race" / "master.key").write_bytes(b"tenant's own file")
    os.symlink(data if target == "absolute" else "../../data", user / "race.swap")
    seen: dict[bytes, int] = {}
    refused = 0
    with ExchangeLoop(user / "race", user / "race.swap") as loop:
        for _ in range(3000):
            try:
                content = _open(roots, "sestore3/jb/race/master.key")
            except InvalidParameter:
                refused += 1
                continue
            seen[content] = seen.get(content, 0) + 1
    assert loop.swaps > 100
    assert set(seen) == {b"tenant's own file"}
    assert refused > 0  # the loop did land on the symlink while the path was opened
