"""Queries run on the driver (``DriverQuery``) give the same values on both stores: a date as
its ``YYYY-MM-DD`` text, a timestamp as a datetime, and a whole job row as ``Job``; the one
cursor each connection keeps for them stays usable after a failed query."""

from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.exc import DBAPIError

from streampanel.runtime import Runtime
from streampanel.store import accounts, usage
from streampanel.store import uploads as upload_store
from streampanel.store.driverquery import DriverQuery, in_list
from streampanel.store.engine import write_transaction
from streampanel.store.tables.uploads import upload_jobs
from streampanel.store.tables.usage import disk_usage, usage_daily
from tests.conftest import MakeAccount

DAYS = DriverQuery(
    select(usage_daily.c.day, usage_daily.c.bytes)
    .where(in_list(usage_daily.c.application_id, bindparam("applications")))
    .order_by(usage_daily.c.day)
)
MEASURED = DriverQuery(select(disk_usage.c.measured, disk_usage.c.day))


def test_dates_come_as_iso_text_and_sums_as_integers(
    runtime: Runtime, make_account: MakeAccount
) -> None:
    creds = make_account(158, apps=("live", "vod"))
    day = date(2026, 3, 9)
    with write_transaction(runtime.engine) as conn:
        server = accounts.get_or_create_server(conn, "HML", "Hamilton, CA")
        usage.add_usage(
            conn,
            server,
            [(creds.apps["live"], day, 1000, 3), (creds.apps["vod"], day, 24, 1)],
        )
        usage.add_usage(conn, server, [(creds.apps["live"], day + timedelta(days=1), 5, 1)])
    with runtime.engine.connect() as conn:
        assert DAYS.rows(conn, {"applications": [creds.apps["live"]]}) == [
            ("2026-03-09", 1000),
            ("2026-03-10", 5),
        ]
        totals = usage.server_days(conn, list(creds.apps.values()), day, day)
    assert totals == [
        {"date": "2026-03-09", "server": "HML", "bytes_total": 1024, "requests_total": 4}
    ]
    assert all(type(row["bytes_total"]) is int for row in totals)


def test_a_timestamp_comes_as_a_datetime_on_both_stores(
    runtime: Runtime, make_account: MakeAccount
) -> None:
    creds = make_account(158, storage_users=("jb",))
    measured = datetime(2026, 3, 9, 12, 30, 5)
    with write_transaction(runtime.engine) as conn:
        (user,) = accounts.list_storage_users(conn, creds.cdn)
        usage.record_disk_usage(conn, measured.date(), {user["id"]: 4096}, measured)
    with runtime.engine.connect() as conn:
        assert MEASURED.rows(conn, {}) == [(measured, "2026-03-09")]


def test_newest_jobs_are_whole_jobs(runtime: Runtime, make_account: MakeAccount) -> None:
    # Job.from_values takes a row of select(upload_jobs) positionally.
    assert [c.name for c in upload_jobs.c] == [f.name for f in fields(upload_store.Job)]
    creds = make_account(158)
    created = datetime(2026, 3, 9, 12, 0, 0)
    with write_transaction(runtime.engine) as conn:
        ids = [
            upload_store.create_job(
                conn,
                {
                    "kind": "aws",
                    "account_id": creds.cdn,
                    "path": f"sestore1/jb/{n}.mp4",
                    "created": created + timedelta(minutes=n),
                    "last_updated": created,
                },
            )
            for n in range(3)
        ]
    with runtime.engine.connect() as conn:
        listed = upload_store.list_jobs(conn, creds.cdn, "aws", limit=2, offset=0)
        by_id = [upload_store.get_job(conn, job_id) for job_id in reversed(ids[1:])]
    assert listed == by_id
    assert listed[0].state is upload_store.JobState.QUEUED
    assert listed[0].callback_state is upload_store.CallbackState.NONE
    assert listed[0].created == created + timedelta(minutes=2)


def test_the_kept_cursor_survives_a_failed_query(runtime: Runtime) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("SQLite compares any value with any: this query cannot fail there")
    broken = DriverQuery(select(usage_daily.c.day).where(usage_daily.c.bytes > bindparam("n")))
    # As the API's reading commands run: in autocommit, on a connection kept across requests.
    reader = runtime.engine.execution_options(isolation_level="AUTOCOMMIT")
    with reader.connect() as conn:
        with pytest.raises(DBAPIError, match="bigint"):
            broken.rows(conn, {"n": "not a number"})
        assert DAYS.rows(conn, {"applications": []}) == []
