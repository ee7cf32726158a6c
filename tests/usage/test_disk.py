"""The disk collector on a real tree, and disk.usage over what it recorded."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from streampanel.disk import collect
from streampanel.runtime import Runtime
from tests.conftest import Credentials, MakeAccount
from tests.viewers.api import call


def write(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)


@pytest.fixture
def tree(tmp_path: Path) -> list[Path]:
    s1, s2 = tmp_path / "sestore1", tmp_path / "sestore2"
    write(s1 / "demo" / "a.mp4", 1000)
    write(s1 / "demo" / "deep" / "er" / "b.mp4", 234)
    write(s2 / "demo" / "c.mp4", 66)
    write(s1 / "jb" / "x.mp4", 5)
    os.link(s1 / "jb" / "x.mp4", s1 / "jb" / "x-again.mp4")  # one file, two names
    write(s1 / "stranger" / "s.mp4", 77)
    outside = tmp_path / "outside"
    write(outside / "huge.bin", 10**6)
    (s1 / "jb" / "escape").symlink_to(outside)  # must not be followed
    (s1 / "jb" / "file-link").symlink_to(outside / "huge.bin")
    return [s1, s2]


def test_collector_sums_users_over_roots(
    runtime: Runtime, make_account: MakeAccount, tree: list[Path]
) -> None:
    make_account(158, storage_users=("demo", "jb", "idle"))
    report = collect(runtime.engine, tree, now=datetime(2024, 3, 19, 12, 0, 0))
    assert report.day == date(2024, 3, 19)
    assert report.figures == {"demo": 1300, "idle": 0, "jb": 5}
    assert report.unknown == {"stranger": 77}


def test_disk_usage_command(
    runtime: Runtime, make_account: MakeAccount, tree: list[Path], tmp_path: Path
) -> None:
    mine = make_account(158, storage_users=("demo", "jb"))
    other = make_account(159, storage_users=("other",))
    collect(runtime.engine, tree, now=datetime(2024, 3, 19, 1, 0, 0))
    write(tree[0] / "demo" / "new.mp4", 700)
    collect(runtime.engine, tree, now=datetime(2024, 3, 20, 1, 0, 0))
    write(tree[0] / "demo" / "later.mp4", 1)
    # Later the same day: replaces that day's figure.
    collect(runtime.engine, tree, now=datetime(2024, 3, 20, 23, 0, 0))
    collect(runtime.engine, tree, now=datetime(2024, 4, 18, 0, 0, 0))  # day 31: outside

    def usage(creds: Credentials, **params: Any) -> list[dict[str, Any]]:
        body = call(runtime, creds, "disk.usage", **params)
        assert body["status"] == "success", body
        assert body["message"] == "Found Disk Data"
        assert "data" not in body
        return body["usage"]

    everyone = usage(mine, cpu="", starttime="2024-03-19")
    assert everyone == [
        {"summary_date": "2024-03-19", "cpu_user": "demo", "bytes_total": 1300},
        {"summary_date": "2024-03-19", "cpu_user": "jb", "bytes_total": 5},
        {"summary_date": "2024-03-20", "cpu_user": "demo", "bytes_total": 2001},
        {"summary_date": "2024-03-20", "cpu_user": "jb", "bytes_total": 5},
    ]
    assert usage(mine, cpu="jb", starttime=1710806400) == [everyone[1], everyone[3]]
    assert usage(mine, cpu=["jb", "demo"], starttime="1710806400") == everyone
    assert usage(mine, cpu=[""], starttime="2024-03") == everyone
    assert usage(mine, cpu="demo", starttime="2024-03-20") == [
        everyone[2],
        {"summary_date": "2024-04-18", "cpu_user": "demo", "bytes_total": 2001},
    ]
    assert usage(other, cpu="", starttime="2024-03-19") == [
        {"summary_date": "2024-03-19", "cpu_user": "other", "bytes_total": 0},
        {"summary_date": "2024-03-20", "cpu_user": "other", "bytes_total": 0},
    ]


@pytest.mark.parametrize(
    ("params", "code", "text"),
    [
        ({"starttime": "2024-03-19"}, 400, "'cpu'"),
        ({"cpu": ""}, 400, "'starttime'"),
        ({"cpu": 5, "starttime": "2024-03-19"}, 400, "'cpu'"),
        ({"cpu": [], "starttime": "2024-03-19"}, 400, "'cpu'"),
        ({"cpu": ["demo", ""], "starttime": "2024-03-19"}, 400, "'cpu'"),
        ({"cpu": "", "starttime": "soon"}, 400, "'starttime'"),
        ({"cpu": "other", "starttime": "2024-03-19"}, 404, "Unknown storage user 'other'"),
        ({"cpu": ["demo", "ghost"], "starttime": "2024-03-19"}, 404, "'ghost'"),
    ],
)
def test_disk_usage_failures(
    runtime: Runtime, make_account: MakeAccount, params: dict[str, Any], code: int, text: str
) -> None:
    mine = make_account(158, storage_users=("demo",))
    make_account(159, storage_users=("other",))
    body = call(runtime, mine, "disk.usage", **params)
    assert (body["status"], body["code"]) == ("failure", code), body
    assert text in body["message"]
