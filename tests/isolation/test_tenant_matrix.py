"""Tenant isolation matrix: for every command, a valid key of account A naming account B's
applications, storage users, stored files or upload ids is refused with exactly the answer
given for objects that do not exist."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from streampanel.api import Dispatcher
from streampanel.commands import REGISTRY
from streampanel.runtime import Runtime
from streampanel.store import uploads
from streampanel.store.engine import write_transaction
from tests.conftest import Credentials, MakeAccount
from tests.support.calls import signed_json


class Tenants:
    def __init__(self, runtime: Runtime, make_account: MakeAccount, root: Path):
        settings = runtime.settings.model_copy(update={"storage_roots": [root]})
        self.dispatcher = Dispatcher(settings, runtime.engine, runtime.box)
        self.a = make_account(158, apps=("a-origin",), storage_users=("alice",))
        self.b = make_account(159, apps=("b-origin", "b-live"), storage_users=("bob",))
        for user in ("alice", "bob"):
            (root / user).mkdir(parents=True)
            (root / user / "video.mp4").write_bytes(b"\0" * 1000)
        with write_transaction(runtime.engine) as conn:
            for account in (158, 159):
                uploads.set_destination(
                    conn,
                    runtime.box,
                    account,
                    "aws",
                    {"bucket": "tenant-bucket", "region": "us-east-1"},
                    {"access_key": "AK", "secret_key": "SK"},
                )
                uploads.set_destination(
                    conn,
                    runtime.box,
                    account,
                    "youtube",
                    {"client_id": "cid"},
                    {"client_secret": "cs", "refresh_token": "rt"},
                )
        self._sequence = 0

    def call(self, creds: Credentials, command: str, **params: Any) -> dict[str, Any]:
        # A distinct member per call: upload commands are idempotent on the signature.
        self._sequence += 1
        text = signed_json(creds, command, **params, nonce=self._sequence)
        body = self.dispatcher.handle(text.encode()).body
        body.pop("handle_time")
        return body


@pytest.fixture
def tenants(runtime: Runtime, make_account: MakeAccount, tmp_path: Path) -> Tenants:
    return Tenants(runtime, make_account, tmp_path / "sestore1")


def same_refusal(foreign: dict[str, Any], missing: dict[str, Any], name: str) -> None:
    assert foreign["status"] == "failure", foreign
    # The same code, and the same message but for the name it echoes.
    assert foreign["code"] == missing["code"]
    assert foreign["message"].replace(name, "X") == missing["message"].replace("nosuch", "X")


def test_matrix_covers_every_command() -> None:
    covered = {
        "video.getapps",
        "video.servers",
        "disk.usage",
        "viewer.livedetailed",
        "aws.upload",
        "aws.status",
        "youtube.upload",
        "youtube.status",
        # tests/isolation/test_sevu_isolation.py
        "sevu.request",
        "sevu.status",
        "sevu.revoke",
        "sevu.errorlog",
        "sevu.errorcount",
        "sevu.addstreamuser",
        "sevu.removestreamuser",
        "sevu.liststreamusers",
        "sevu.retrievestreamuser",
    }
    assert set(REGISTRY) == covered, "add the new command to the isolation matrix"


def test_getapps_lists_only_own(tenants: Tenants) -> None:
    names = [app["name"] for app in tenants.call(tenants.a, "video.getapps")["data"]]
    assert names == ["a-origin"]


@pytest.mark.parametrize(
    "command,extra",
    [
        ("video.servers", {}),
        ("viewer.livedetailed", {"url": "*"}),
    ],
)
def test_foreign_applications(tenants: Tenants, command: str, extra: dict[str, Any]) -> None:
    b_id = tenants.b.apps["b-origin"]
    missing = tenants.call(tenants.a, command, app="nosuch", **extra)
    assert missing["code"] == 404
    same_refusal(tenants.call(tenants.a, command, app="b-origin", **extra), missing, "b-origin")
    same_refusal(
        tenants.call(tenants.a, command, app=["a-origin", "b-live"], **extra), missing, "b-live"
    )
    missing_id = tenants.call(tenants.a, command, app=99999, **extra)
    same_refusal(
        tenants.call(tenants.a, command, app=b_id, **extra),
        {**missing_id, "message": missing_id["message"].replace("99999", "nosuch")},
        str(b_id),
    )
    # B itself may use them.
    assert tenants.call(tenants.b, command, app="b-origin", **extra)["status"] == "success"


def test_foreign_storage_users(tenants: Tenants) -> None:
    missing = tenants.call(tenants.a, "disk.usage", cpu="nosuch", starttime="2026-01-01")
    assert missing["code"] == 404
    foreign = tenants.call(tenants.a, "disk.usage", cpu="bob", starttime="2026-01-01")
    same_refusal(foreign, missing, "bob")
    mixed = tenants.call(tenants.a, "disk.usage", cpu=["alice", "bob"], starttime="2026-01-01")
    same_refusal(mixed, missing, "bob")
    everything = tenants.call(tenants.a, "disk.usage", cpu="", starttime="2026-01-01")
    assert all(row["cpu_user"] == "alice" for row in everything["usage"])


@pytest.mark.parametrize(
    "command,extra",
    [
        ("aws.upload", {}),
        ("youtube.upload", {"title": "t"}),
    ],
)
def test_foreign_stored_files(tenants: Tenants, command: str, extra: dict[str, Any]) -> None:
    missing_user = tenants.call(tenants.a, command, path="sestore1/nosuch/video.mp4", **extra)
    foreign = tenants.call(tenants.a, command, path="sestore1/bob/video.mp4", **extra)
    assert missing_user["code"] == 400
    assert foreign == missing_user
    escape = tenants.call(tenants.a, command, path="sestore1/alice/../bob/video.mp4", **extra)
    assert escape == missing_user
    own = tenants.call(tenants.a, command, path="sestore1/alice/video.mp4", **extra)
    assert own["status"] == "success", own


@pytest.mark.parametrize(
    "upload,status,extra",
    [
        ("aws.upload", "aws.status", {}),
        ("youtube.upload", "youtube.status", {"title": "t"}),
    ],
)
def test_foreign_upload_ids(
    tenants: Tenants, upload: str, status: str, extra: dict[str, Any]
) -> None:
    b_job = tenants.call(tenants.b, upload, path="sestore1/bob/video.mp4", **extra)["data"]["id"]
    missing = tenants.call(tenants.a, status, id=b_job + 1000)
    foreign = tenants.call(tenants.a, status, id=b_job)
    assert missing["code"] == 404
    assert foreign["code"] == 404
    assert foreign["message"] == missing["message"].replace(str(b_job + 1000), str(b_job))
    assert tenants.call(tenants.b, status, id=b_job)["status"] == "success"
    if status == "aws.status":
        assert tenants.call(tenants.a, status)["data"] == []
