"""video.getapps answers the caller's applications and nothing of any other account."""

from __future__ import annotations

from streampanel.runtime import Runtime
from tests.conftest import Credentials, MakeAccount
from tests.support.calls import dispatch

NOW = 1_700_000_000


def call(runtime: Runtime, creds: Credentials, command: str, **params: object) -> dict:
    return dispatch(runtime, creds, command, now=NOW, **params)


def test_getapps_lists_own_applications_only(runtime: Runtime, make_account: MakeAccount) -> None:
    mine = make_account(158, apps=("demo-origin", "demo-live"))
    make_account(159, apps=("other-origin",))
    body = call(runtime, mine, "video.getapps")
    assert body["status"] == "success"
    assert body["code"] == 200
    assert [(a["id"], a["name"]) for a in body["data"]] == [
        (mine.apps["demo-origin"], "demo-origin"),
        (mine.apps["demo-live"], "demo-live"),
    ]


def test_getapps_of_an_account_without_applications_is_empty(
    runtime: Runtime, make_account: MakeAccount
) -> None:
    creds = make_account(160)
    make_account(161, apps=("x",))
    assert call(runtime, creds, "video.getapps")["data"] == []
