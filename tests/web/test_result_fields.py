"""The documented result fields are what the handlers really answer, on both stores.

Each read command runs through the panel's call path (the registry handler behind the API's
dispatcher) on an account that has data for it; the keys of every record it returns must be
exactly the documented fields.  A new read command must add its case here.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from streampanel.api import Dispatcher, Outcome
from streampanel.commands import REGISTRY
from streampanel.runtime import Runtime
from streampanel.store import accounts, usage
from streampanel.store import uploads as upload_store
from streampanel.store.engine import write_transaction
from streampanel.store.viewers import StreamCount
from streampanel.viewers.snapshots import store_report
from streampanel.web.command_docs import COMMAND_DOCS
from tests.conftest import Credentials, MakeAccount
from tests.tickets import data as tickets_data


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


# command -> params for an account filled by `filled` (ids of the jobs filled in)
CASES: dict[str, Any] = {
    "video.getapps": lambda jobs: {},
    "video.servers": lambda jobs: {"app": "demo-live"},
    "disk.usage": lambda jobs: {"cpu": "", "starttime": _today()},
    "viewer.livedetailed": lambda jobs: {"app": "demo-live", "url": "*"},
    "aws.status": lambda jobs: {},
    "youtube.status": lambda jobs: {"id": jobs["youtube"]},
    "sevu.status": lambda jobs: {"key": jobs["ticket"]},
    "sevu.errorlog": lambda jobs: {"key": jobs["ticket"]},
    "sevu.errorcount": lambda jobs: {},
    "sevu.liststreamusers": lambda jobs: {},
    "sevu.retrievestreamuser": lambda jobs: {"streamuser_id": jobs["streamuser"]},
}


def filled(runtime: Runtime, make_account: MakeAccount) -> tuple[Credentials, dict[str, Any]]:
    creds = make_account(158, apps=("demo-live",), storage_users=("jb",))
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    jobs: dict[str, Any] = {}
    with write_transaction(runtime.engine) as conn:
        server = accounts.get_or_create_server(conn, "HML", "Hamilton, CA")
        usage.add_usage(conn, server, [(creds.apps["demo-live"], now.date(), 1000, 3)])
        users = {u["name"]: u["id"] for u in accounts.list_storage_users(conn, creds.cdn)}
        usage.record_disk_usage(conn, now.date(), {users["jb"]: 4096}, now)
        for kind in ("aws", "youtube"):
            jobs[kind] = upload_store.create_job(
                conn,
                {
                    "kind": kind,
                    "account_id": creds.cdn,
                    "path": "sestore1/jb/a.mp4",
                    "created": now - timedelta(minutes=1),
                    "last_updated": now,
                },
            )
        jobs.update(tickets_data.fill(conn, creds.cdn, "demo-live", creds.apps["demo-live"], now))
    minute = int(time.time()) // 60 * 60
    store_report(
        runtime.engine,
        "HML",
        "rtmp",
        minute,
        [StreamCount("_defaultVHost_", "demo-live", "cam", 7)],
    )
    return creds, jobs


def test_every_read_command_has_a_case() -> None:
    assert set(CASES) == {name for name, c in REGISTRY.items() if not c.writes}


def test_documented_fields_are_the_answered_fields(
    runtime: Runtime, make_account: MakeAccount
) -> None:
    creds, jobs = filled(runtime, make_account)
    dispatcher = Dispatcher(runtime.settings, runtime.engine, runtime.box)
    with runtime.engine.connect() as conn:
        key = accounts.find_active_key(conn, runtime.box, creds.api_key)
    assert key is not None
    for name, params in CASES.items():
        command = REGISTRY[name]
        admitted = dispatcher.admit(key, name, params(jobs), read_only=True)
        assert not isinstance(admitted, Outcome), (name, admitted.body)
        body = dispatcher.execute(admitted).body
        assert body["status"] == "success", (name, body)
        payload = body[command.payload_key]
        records = payload if isinstance(payload, list) else [payload]
        assert records, f"{name}: the case must answer at least one record"
        documented = [f.name for f in COMMAND_DOCS[name].result_fields]
        for record in records:
            assert list(record) == documented, name
