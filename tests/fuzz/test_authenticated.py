"""Authenticated fuzzing: every registry command signed with a real key, the viewer push route
with its server token and the panel's call route with a session, each fed Unicode digits,
huge integers, long digit strings and deep nesting in every field.  Nothing answers 500 and no
answer carries a traceback.

``STREAMPANEL_FUZZ_EXAMPLES`` raises the number of examples per property (default 60).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from streampanel.client import sign_request
from streampanel.commands import REGISTRY
from streampanel.runtime import Runtime
from streampanel.store import accounts
from streampanel.store.engine import write_transaction
from streampanel.store.viewers import issue_ingest_token
from tests.commands.test_registry_walk import CASES as WALK_CASES
from tests.conftest import Credentials, MakeAccount, in_process_app
from tests.fuzz.conftest import CASES, FUZZ
from tests.support.calls import signed_json

ENVELOPE = {"status", "code", "message", "handle_time"}


def nested(value: Any, depth: int, kind: str = "list") -> Any:
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


# Fixed hostile values, every one sent in every field of every command.
HOSTILE: list[Any] = [
    "²",
    "٣",
    "１２",
    "12²",
    "9" * 19,
    "9" * 401,
    "9" * 5000,
    "0" * 400 + "1",
    10**400,
    -(10**400),
    2**63,
    2**63 - 1,
    -(2**63) - 1,
    2**31,
    -1,
    1e308,
    "",
    "\x00",
    "\ud800",
    nested(1, 31),
    nested(1, 40, "dict"),
    nested("²", 5),
    "[" * 100_000,
    "{" * 50_000 + "}" * 50_000,
    "[" * 1000 + "1" + "]" * 1000,
]

unicode_digits = st.text(
    alphabet=st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=20
)
huge_integers = st.builds(
    lambda digits, sign, offset: sign * (10**digits) + offset,
    st.integers(18, 4000),
    st.sampled_from([1, -1]),
    st.integers(-5, 5),
)
digit_strings = st.integers(1, 5000).map(lambda n: "9" * n) | st.from_regex(
    r"0{0,30}[0-9]{15,25}", fullmatch=True
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
hostile_scalars = unicode_digits | huge_integers | digit_strings | scalars
hostile_values = st.builds(
    nested, hostile_scalars, st.integers(0, 40), st.sampled_from(["list", "dict"])
) | st.lists(hostile_scalars, max_size=4)


def check_answer(response: httpx.Response, statuses: set[int]) -> dict[str, Any]:
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    assert "Traceback" not in response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["status"] in {"success", "failure"}, body
    assert body["code"] != 500, body
    if body["status"] == "failure":
        assert set(body) == ENVELOPE, body
    return body


def fields_of(command: str) -> list[str]:
    return sorted(REGISTRY[command].params.model_fields)


class Api:
    """The in-process app with two accounts; each command's valid parameters come from its
    registry-walk setup (files, destinations, objects it names), made when first needed."""

    def __init__(self, client: TestClient, runtime: Runtime, creds: Credentials):
        self.client, self.runtime, self.creds = client, runtime, creds
        self._good: dict[str, dict[str, Any]] = {}

    def good(self, command: str) -> dict[str, Any]:
        if command not in self._good:
            self._good[command] = WALK_CASES[command][0](self.runtime, self.creds)
        return self._good[command]

    def call(self, command: str, params: dict[str, Any]) -> dict[str, Any]:
        text = signed_json(self.creds, command, **params)
        response = self.client.post(
            "/stable/", content=text.encode(), headers={"content-type": "application/json"}
        )
        return check_answer(response, {200, 413})


@pytest.fixture
def api(runtime: Runtime, make_account: MakeAccount, tmp_path: Path) -> Iterator[Api]:
    # Commands that need files get a storage root of this test's own, as in the registry walk.
    overrides = {"storage_roots": [tmp_path / "sestore1"], "rate_limit_per_second": 0}
    runtime = Runtime(runtime.settings.model_copy(update=overrides), runtime.engine, runtime.box)
    creds = make_account(158, apps=("demo-origin", "demo-live"), storage_users=("demo",))
    make_account(159, apps=("other-origin",), storage_users=("other",))
    with TestClient(in_process_app(runtime, **overrides), raise_server_exceptions=False) as client:
        yield Api(client, runtime, creds)


@pytest.mark.parametrize("command", sorted(REGISTRY))
def test_every_field_of_every_command_takes_hostile_values(api: Api, command: str) -> None:
    for field in fields_of(command):
        for value in HOSTILE:
            CASES["authenticated: fixed hostile values per field"] += 1
            body = api.call(command, {**api.good(command), field: value})
            assert body["code"] in {200, 400, 404, 409, 413}, (field, value, body)


@FUZZ
@given(data=st.data())
def test_authenticated_commands_with_hostile_parameters(api: Api, data: st.DataObject) -> None:
    CASES["authenticated: random hostile parameters"] += 1
    command = data.draw(st.sampled_from(sorted(REGISTRY)))
    names = [*fields_of(command), "extra"]
    changed = data.draw(st.dictionaries(st.sampled_from(names), hostile_values, min_size=1))
    body = api.call(command, {**api.good(command), **changed})
    assert body["code"] in {200, 400, 404, 409, 413}, body


@FUZZ
@given(
    member=st.sampled_from(["command", "cdn", "api_key", "timestamp"]),
    value=hostile_values,
)
def test_hostile_envelope_members_are_a_400_or_401(api: Api, member: str, value: Any) -> None:
    CASES["authenticated: hostile envelope members"] += 1
    request = json.loads(signed_json(api.creds, "video.getapps"))
    del request["signature"]
    request[member] = value
    # Signed over the hostile member: only the member itself can be wrong.
    text = sign_request(request, api.creds.secret).final_json
    response = api.client.post(
        "/stable/", content=text.encode(), headers={"content-type": "application/json"}
    )
    assert check_answer(response, {200})["code"] in {200, 400, 401, 404}


# --- the viewer push route ---------------------------------------------------------------


@pytest.fixture
def push(api: Api) -> tuple[TestClient, dict[str, str]]:
    with write_transaction(api.runtime.engine) as conn:
        token = issue_ingest_token(conn, accounts.get_or_create_server(conn, "PAR", "Paris"))
    return api.client, {"Authorization": f"Bearer {token}"}


def _report_item(now: int) -> dict[str, Any]:
    return {
        "time": now,
        "vhost": "_defaultVHost_",
        "app": "demo-live",
        "stream": "cam1",
        "viewers": 3,
        "protocol": "rtmp",
    }


@pytest.mark.parametrize("field", ["time", "vhost", "app", "stream", "viewers", "protocol"])
def test_every_push_field_takes_hostile_values(push, field: str) -> None:
    client, headers = push
    for value in HOSTILE:
        CASES["push: fixed hostile values per field"] += 1
        report = [{**_report_item(int(time.time())), field: value}]
        response = client.post("/viewers/push", content=json.dumps(report), headers=headers)
        assert check_answer(response, {200, 400})


@FUZZ
@given(
    items=st.lists(
        st.dictionaries(
            st.sampled_from(["time", "vhost", "app", "stream", "viewers", "protocol"]),
            hostile_values,
        ),
        min_size=1,
        max_size=4,
    ),
    wrap=st.integers(0, 40),
)
def test_push_with_hostile_reports(push, items: list[dict[str, Any]], wrap: int) -> None:
    client, headers = push
    CASES["push: random hostile reports"] += 1
    now = int(time.time())
    report = nested([{**_report_item(now), **item} for item in items], wrap)
    response = client.post("/viewers/push", content=json.dumps(report), headers=headers)
    check_answer(response, {200, 400})


@FUZZ
@given(body=st.binary(max_size=512) | st.integers(1, 200_000).map(lambda n: b"[" * n))
def test_push_with_random_bytes(push, body: bytes) -> None:
    client, headers = push
    CASES["push: random bytes and deep bodies"] += 1
    response = client.post("/viewers/push", content=body, headers=headers)
    check_answer(response, {400})


# --- the panel's call route ----------------------------------------------------------------


@pytest.fixture
def panel(api: Api) -> TestClient:
    client = api.client
    form = client.get("/panel/login")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert token is not None
    signed_in = client.post(
        "/panel/login",
        data={
            "cdn": str(api.creds.cdn),
            "api_key": api.creds.api_key,
            "secret": api.creds.secret,
            "login_token": token[1],
        },
        follow_redirects=False,
    )
    assert signed_in.status_code == 303, signed_in.text
    return client


@pytest.mark.parametrize("command", sorted(REGISTRY))
def test_every_panel_call_field_takes_hostile_values(
    api: Api, panel: TestClient, command: str
) -> None:
    for field, value in ((f, v) for f in fields_of(command) for v in HOSTILE):
        CASES["panel: fixed hostile values per field"] += 1
        params = {**api.good(command), field: value}
        body = json.dumps({"command": command, "params": params})
        response = panel.post(
            "/panel/api/call", content=body, headers={"content-type": "application/json"}
        )
        assert check_answer(response, {200, 400, 403})


@FUZZ
@given(data=st.data())
def test_panel_calls_with_hostile_parameters(
    api: Api, panel: TestClient, data: st.DataObject
) -> None:
    CASES["panel: random hostile calls"] += 1
    command = data.draw(st.sampled_from(sorted(REGISTRY)) | hostile_values)
    params = data.draw(
        st.dictionaries(st.sampled_from(["app", "url", "id", "limit", "extra"]), hostile_values)
        | hostile_values
    )
    body = json.dumps({"command": command, "params": params})
    response = panel.post(
        "/panel/api/call", content=body, headers={"content-type": "application/json"}
    )
    check_answer(response, {200, 400, 403})


@FUZZ
@given(body=st.binary(max_size=512) | st.integers(1, 200_000).map(lambda n: b"{" * n))
def test_panel_call_with_random_bytes(panel: TestClient, body: bytes) -> None:
    CASES["panel: random bytes and deep bodies"] += 1
    response = panel.post(
        "/panel/api/call", content=body, headers={"content-type": "application/json"}
    )
    check_answer(response, {400})
