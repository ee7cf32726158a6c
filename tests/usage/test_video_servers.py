"""video.servers: every parameter form, 30-day periods, zero rows, ordering, failures, and
no other account's data."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from streampanel.runtime import Runtime
from streampanel.store import accounts, usage
from streampanel.store.engine import write_transaction
from tests.conftest import Credentials, MakeAccount
from tests.viewers.api import call

NOW = 1_700_000_000  # 2023-11-14 22:13:20 UTC
TODAY = date(2023, 11, 14)


@pytest.fixture
def traffic(runtime: Runtime, make_account: MakeAccount) -> dict[str, Any]:
    mine = make_account(158, apps=("demo-origin", "demo-live", "demo-vod"))
    other = make_account(159, apps=("other-origin",))
    with write_transaction(runtime.engine) as conn:
        hml = accounts.get_or_create_server(conn, "HML")
        fra = accounts.get_or_create_server(conn, "FRA")
        nyc = accounts.get_or_create_server(conn, "NYC")
        origin, live = mine.apps["demo-origin"], mine.apps["demo-live"]
        usage.add_usage(
            conn,
            hml,
            [
                (origin, date(2024, 3, 19), 1000, 10),
                (live, date(2024, 3, 19), 500, 5),
                (origin, date(2024, 4, 17), 7, 1),  # last day of period
                (origin, date(2024, 4, 18), 99, 9),
            ],
        )  # day after
        usage.add_usage(
            conn, fra, [(origin, date(2024, 3, 20), 2000, 20), (origin, date(2024, 3, 18), 3, 3)]
        )  # day before
        # Another account's traffic on the same server and day, and on a third server.
        usage.add_usage(conn, hml, [(other.apps["other-origin"], date(2024, 3, 19), 10**6, 10**3)])
        usage.add_usage(conn, nyc, [(other.apps["other-origin"], date(2024, 3, 19), 1, 1)])
        usage.add_usage(
            conn, nyc, [(origin, TODAY - timedelta(days=29), 11, 1), (origin, TODAY, 12, 2)]
        )
    return {"mine": mine, "other": other}


def servers(runtime: Runtime, creds: Credentials, **params: Any) -> list[dict[str, Any]]:
    body = call(runtime, creds, "video.servers", **params)
    assert body["status"] == "success", body
    assert body["message"] == "Found Video Region Data"
    return body["data"]


def test_period_zero_rows_order_and_sums(runtime: Runtime, traffic: dict[str, Any]) -> None:
    rows = servers(
        runtime, traffic["mine"], app=["demo-origin", "demo-live"], starttime="2024-03-19"
    )
    # FRA and HML served in the period: 30 days x 2 servers, by date then server name.
    assert len(rows) == 60
    assert [(r["date"], r["server"]) for r in rows[:4]] == [
        ("2024-03-19", "FRA"),
        ("2024-03-19", "HML"),
        ("2024-03-20", "FRA"),
        ("2024-03-20", "HML"),
    ]
    assert rows[0] == {"date": "2024-03-19", "server": "FRA", "bytes_total": 0, "requests_total": 0}
    assert rows[1] == {
        "date": "2024-03-19",
        "server": "HML",
        "bytes_total": 1500,
        "requests_total": 15,
    }
    assert rows[2]["bytes_total"] == 2000
    assert rows[-1] == {
        "date": "2024-04-17",
        "server": "HML",
        "bytes_total": 7,
        "requests_total": 1,
    }
    assert sum(r["bytes_total"] for r in rows) == 1500 + 2000 + 7
    assert {r["date"] for r in rows} == {
        (date(2024, 3, 19) + timedelta(days=i)).isoformat() for i in range(30)
    }


@pytest.mark.parametrize(
    "starttime",
    ["2024-03-19", 1710806400, "1710806400", 1710806400 + 86399],
)
def test_starttime_forms(runtime: Runtime, traffic: dict[str, Any], starttime: Any) -> None:
    rows = servers(runtime, traffic["mine"], app="demo-origin", starttime=starttime)
    assert rows[0]["date"] == "2024-03-19"


def test_month_form_starts_on_the_first(runtime: Runtime, traffic: dict[str, Any]) -> None:
    rows = servers(runtime, traffic["mine"], app="demo-origin", starttime="2024-03")
    assert rows[0]["date"] == "2024-03-01" and rows[-1]["date"] == "2024-03-30"
    assert {r["server"] for r in rows} == {"FRA", "HML"}


def test_app_forms(runtime: Runtime, traffic: dict[str, Any]) -> None:
    mine = traffic["mine"]
    by_name = servers(runtime, mine, app="demo-live", starttime="2024-03-19")
    by_id = servers(runtime, mine, app=mine.apps["demo-live"], starttime="2024-03-19")
    by_digits = servers(runtime, mine, app=str(mine.apps["demo-live"]), starttime="2024-03-19")
    assert by_name == by_id == by_digits
    assert [r["server"] for r in by_name[:2]] == ["HML", "HML"]  # only HML served demo-live
    mixed = servers(
        runtime, mine, app=[mine.apps["demo-origin"], "demo-live"], starttime="2024-03-19"
    )
    assert mixed[1]["bytes_total"] == 1500
    # The same application twice is counted once.
    twice = servers(
        runtime, mine, app=["demo-live", mine.apps["demo-live"]], starttime="2024-03-19"
    )
    assert twice == by_name


def test_default_period_is_the_30_days_ending_today(
    runtime: Runtime, traffic: dict[str, Any]
) -> None:
    for params in ({}, {"starttime": ""}):
        rows = servers(runtime, traffic["mine"], app="demo-origin", **params)
        assert rows[0] == {
            "date": (TODAY - timedelta(days=29)).isoformat(),
            "server": "NYC",
            "bytes_total": 11,
            "requests_total": 1,
        }
        assert rows[-1] == {
            "date": TODAY.isoformat(),
            "server": "NYC",
            "bytes_total": 12,
            "requests_total": 2,
        }
        assert len(rows) == 30


def test_no_traffic_is_an_empty_list(runtime: Runtime, traffic: dict[str, Any]) -> None:
    assert servers(runtime, traffic["mine"], app="demo-vod", starttime="2024-03-19") == []
    assert servers(runtime, traffic["mine"], app="demo-origin", starttime="2020-01-01") == []


def test_other_accounts_data_is_invisible(runtime: Runtime, traffic: dict[str, Any]) -> None:
    mine, other = traffic["mine"], traffic["other"]
    for app in ("other-origin", other.apps["other-origin"], ["demo-origin", "other-origin"]):
        body = call(runtime, mine, "video.servers", app=app, starttime="2024-03-19")
        assert body["code"] == 404, body
        assert "Unknown application" in body["message"]
    # The same answer for a name that exists nowhere.
    body = call(runtime, mine, "video.servers", app="nowhere")
    assert (body["code"], body["message"]) == (404, "Unknown application 'nowhere'")
    theirs = servers(runtime, other, app="other-origin", starttime="2024-03-19")
    assert {r["server"] for r in theirs} == {"HML", "NYC"}
    assert theirs[1] == {
        "date": "2024-03-19",
        "server": "NYC",
        "bytes_total": 1,
        "requests_total": 1,
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "app"),
        ({"app": []}, "app"),
        ({"app": 1.5}, "app"),
        ({"app": [None]}, "app"),
        ({"app": {"a": 1}}, "app"),
        ({"app": "demo-origin", "starttime": "19/03/2024"}, "starttime"),
        ({"app": "demo-origin", "starttime": "2024-02-30"}, "starttime"),
        ({"app": "demo-origin", "starttime": [1]}, "starttime"),
        ({"app": "demo-origin", "starttime": 10**15}, "starttime"),
        ({"app": "demo-origin", "starttime": "9999-12-31"}, "starttime"),
    ],
)
def test_bad_parameters_name_the_field(
    runtime: Runtime, traffic: dict[str, Any], params: dict[str, Any], field: str
) -> None:
    body = call(runtime, traffic["mine"], "video.servers", **params)
    assert body["status"] == "failure"
    assert body["code"] == 400, body
    assert f"'{field}'" in body["message"]


def test_unknown_members_are_ignored(runtime: Runtime, traffic: dict[str, Any]) -> None:
    rows = servers(
        runtime,
        traffic["mine"],
        app="demo-origin",
        starttime="2024-03-19",
        region="eu",
        extra=[1, 2],
    )
    assert len(rows) == 60


def test_now_is_utc(runtime: Runtime, traffic: dict[str, Any]) -> None:
    assert datetime.fromtimestamp(NOW, UTC).date() == TODAY
