"""Before the signature verifies, every failure is the same ``401 Authentication failed``,
whether or not the key exists and whatever the cdn and timestamp: hostile timestamps and cdns
(hundreds of digits, Unicode digits, past int64) included."""

from __future__ import annotations

import time
from typing import Any

import pytest

from streampanel.api import Dispatcher
from streampanel.client import sign_request
from streampanel.runtime import Runtime
from tests.conftest import Credentials, MakeAccount

HOSTILE_TIMESTAMPS: list[Any] = [
    10**400,
    -(10**400),
    "9" * 401,
    "9" * 5000,
    2**63,
    -(2**63) - 1,
    2**53 + 1,
    0,
]


def _answer(dispatcher: Dispatcher, request: dict[str, Any], secret: str) -> dict[str, Any]:
    outcome = dispatcher.handle(sign_request(request, secret).final_json.encode())
    assert outcome.http_status == 200
    body = dict(outcome.body)
    del body["handle_time"]
    return body


@pytest.fixture
def accounts_(make_account: MakeAccount) -> tuple[Credentials, Credentials]:
    return make_account(158, apps=("demo-origin",)), make_account(159, apps=("other",))


@pytest.mark.parametrize("timestamp", HOSTILE_TIMESTAMPS, ids=lambda v: str(v)[:12])
def test_a_hostile_timestamp_is_the_401_of_any_unknown_key(
    runtime: Runtime, accounts_: tuple[Credentials, Credentials], timestamp: Any
) -> None:
    mine, other = accounts_
    dispatcher = Dispatcher(runtime.settings, runtime.engine, runtime.box)
    base = {"command": "video.getapps", "api_key": mine.api_key, "cdn": mine.cdn}
    # Everything an outsider without the secret can vary: key, cdn, timestamp.
    answers = [
        _answer(dispatcher, {**base, "timestamp": timestamp}, "0" * 64),
        _answer(dispatcher, {**base, "timestamp": timestamp, "api_key": "NOSUCHKEY"}, "0" * 64),
        _answer(dispatcher, {**base, "timestamp": timestamp, "cdn": other.cdn}, "0" * 64),
        _answer(dispatcher, {**base, "timestamp": timestamp, "cdn": 10**400}, "0" * 64),
        _answer(dispatcher, {**base, "timestamp": timestamp, "cdn": "9" * 401}, "0" * 64),
        _answer(dispatcher, {**base, "timestamp": timestamp, "cdn": 424242}, "0" * 64),
        _answer(dispatcher, {**base, "timestamp": int(time.time()), "api_key": "X"}, "0" * 64),
        # PostgreSQL cannot compare a NUL: still the 401 of an unknown key, not a 503.
        _answer(dispatcher, {**base, "timestamp": timestamp, "api_key": "K\x00"}, "0" * 64),
    ]
    assert answers[0] == {"status": "failure", "code": 401, "message": "Authentication failed"}
    assert all(answer == answers[0] for answer in answers), answers
    # Signed with the right secret, the stale stamp is explained, and still a 401.
    signed = _answer(dispatcher, {**base, "timestamp": timestamp}, mine.secret)
    assert signed["code"] == 401
    assert "timestamp is outside the allowed window" in signed["message"]
    assert len(signed["message"]) < 300


def test_the_log_of_a_hostile_timestamp_is_bounded(
    runtime: Runtime,
    accounts_: tuple[Credentials, Credentials],
    caplog: pytest.LogCaptureFixture,
) -> None:
    mine, _ = accounts_
    dispatcher = Dispatcher(runtime.settings, runtime.engine, runtime.box)
    request = {"command": "video.getapps", "api_key": mine.api_key, "cdn": 10**400}
    with caplog.at_level("DEBUG"):
        for secret in (mine.secret, "0" * 64):
            _answer(dispatcher, {**request, "timestamp": 10**400}, secret)
            _answer(dispatcher, {**request, "cdn": mine.cdn, "timestamp": "9" * 4000}, secret)
    assert caplog.records
    assert all(len(record.getMessage()) < 300 for record in caplog.records)


def test_unicode_digits_in_envelope_integers_are_a_400_for_every_key(
    runtime: Runtime, accounts_: tuple[Credentials, Credentials]
) -> None:
    mine, _ = accounts_
    dispatcher = Dispatcher(runtime.settings, runtime.engine, runtime.box)
    base = {"command": "video.getapps", "api_key": mine.api_key, "cdn": mine.cdn}
    for member in ("timestamp", "cdn"):
        for value in ("²", "٣", "１２"):
            known = _answer(dispatcher, {**base, "timestamp": 1, member: value}, mine.secret)
            unknown = _answer(
                dispatcher, {**base, "api_key": "NOSUCHKEY", "timestamp": 1, member: value}, "x"
            )
            assert known == unknown
            assert known["code"] == 400
            assert f"'{member}'" in known["message"]
