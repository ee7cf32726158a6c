"""video.getapps answers the caller's applications and nothing of any other account."""

from __future__ import annotations

from streampanel.api import Dispatcher
from streampanel.runtime import Runtime
from streampanel.store import accounts
from streampanel.store.accounts import ApplicationCache, utcnow
from streampanel.store.tables import applications
from tests.conftest import Credentials, MakeAccount
from tests.support.calls import dispatch, signed_json

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


def _insert_as_another_process(runtime: Runtime, cdn: int, name: str) -> None:
    """An application written the way `streampanel admin` in another process would: this
    process's caches hear nothing of it."""
    with runtime.engine.begin() as conn:
        conn.execute(applications.insert().values(account_id=cdn, name=name, created=utcnow()))


def test_an_application_added_by_this_process_is_listed_at_once(
    runtime: Runtime, make_account: MakeAccount
) -> None:
    creds = make_account(158, apps=("a",))
    dispatcher = Dispatcher(runtime.settings, runtime.engine, runtime.box, clock=lambda: NOW)
    assert _names(dispatcher, creds) == ["a"]
    with runtime.engine.begin() as conn:
        accounts.create_application(conn, 158, "b")
    assert _names(dispatcher, creds) == ["a", "b"]


def test_another_process_s_application_shows_within_the_cache_lifetime(
    runtime: Runtime, make_account: MakeAccount
) -> None:
    creds = make_account(158, apps=("a",))
    dispatcher = Dispatcher(runtime.settings, runtime.engine, runtime.box, clock=lambda: NOW)
    elapsed = [0.0]
    dispatcher.applications = ApplicationCache(2.0, clock=lambda: elapsed[0])
    assert _names(dispatcher, creds) == ["a"]
    _insert_as_another_process(runtime, 158, "b")
    elapsed[0] = 1.9
    assert _names(dispatcher, creds) == ["a"]  # cached
    elapsed[0] = 2.1
    assert _names(dispatcher, creds) == ["a", "b"]


def test_a_zero_cache_lifetime_reads_the_store_every_time(
    runtime: Runtime, make_account: MakeAccount
) -> None:
    creds = make_account(158, apps=("a",))
    settings = runtime.settings.model_copy(update={"application_cache_seconds": 0})
    dispatcher = Dispatcher(settings, runtime.engine, runtime.box, clock=lambda: NOW)
    assert _names(dispatcher, creds) == ["a"]
    _insert_as_another_process(runtime, 158, "b")
    assert _names(dispatcher, creds) == ["a", "b"]


def test_cached_lists_are_per_account(runtime: Runtime, make_account: MakeAccount) -> None:
    mine = make_account(158, apps=("mine",))
    theirs = make_account(159, apps=("theirs",))
    dispatcher = Dispatcher(runtime.settings, runtime.engine, runtime.box, clock=lambda: NOW)
    for _ in range(2):
        assert _names(dispatcher, mine) == ["mine"]
        assert _names(dispatcher, theirs) == ["theirs"]


def _names(dispatcher: Dispatcher, creds: Credentials) -> list[str]:
    body = dispatcher.handle(signed_json(creds, "video.getapps", timestamp=NOW).encode()).body
    assert body["status"] == "success", body
    return [a["name"] for a in body["data"]]
