"""Walk every registered command through a signed success and a set of failures, and check the
envelope shape of each answer.  A new command must add its cases here (the test says so)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from streampanel.commands import REGISTRY
from streampanel.runtime import Runtime
from tests.conftest import Credentials, MakeAccount
from tests.support.calls import dispatch

_NONCES = itertools.count()

# command -> (params for a success given the account, params that must fail with 400 or 404)
Setup = Callable[[Runtime, Credentials], dict[str, Any]]
CASES: dict[str, tuple[Setup, dict[str, Any] | None]] = {
    "video.getapps": (lambda rt, c: {}, None),
}


def _register_feature_cases() -> None:
    """Features keep their walk cases beside their own tests (tests/<feature>/walk_cases.py):
    ``CASES = {command: (setup(runtime, creds) -> params, params that fail or None)}``."""
    import importlib
    import pkgutil

    import tests

    for module in pkgutil.iter_modules(tests.__path__):
        try:
            cases = importlib.import_module(f"tests.{module.name}.walk_cases")
        except ModuleNotFoundError:
            continue
        CASES.update(cases.CASES)


_register_feature_cases()


def call(
    runtime: Runtime, creds: Credentials, command: str, secret: str | None = None, **params: Any
) -> dict[str, Any]:
    # A distinct member per call: commands that create are idempotent on the signature.
    body = dispatch(runtime, creds, command, secret=secret, **params, nonce=next(_NONCES))
    assert_envelope(body)
    return body


def assert_envelope(body: dict[str, Any]) -> None:
    assert body["status"] in {"success", "failure"}
    assert isinstance(body["code"], int)
    assert isinstance(body["message"], str) and body["message"]
    assert re.fullmatch(r"\d+\.\d{4} seconds", body["handle_time"])
    if body["status"] == "failure":
        assert set(body) == {"status", "code", "message", "handle_time"}
    else:
        assert body["code"] == 200
        assert len(set(body) - {"status", "code", "message", "handle_time"}) == 1


def test_every_command_has_walk_cases() -> None:
    missing = sorted(set(REGISTRY) - set(CASES))
    assert not missing, f"add walk cases for {missing} (tests/<feature>/walk_cases.py)"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_command_walk(
    name: str, runtime: Runtime, make_account: MakeAccount, tmp_path: Path
) -> None:
    command = REGISTRY[name]
    setup, bad_params = CASES[name]
    # A storage root of this test's own (storage_roots[0]) for commands that need files.
    settings = runtime.settings.model_copy(update={"storage_roots": [tmp_path / "sestore1"]})
    runtime = Runtime(settings, runtime.engine, runtime.box)
    creds = make_account(158, apps=("demo-origin", "demo-live"), storage_users=("demo",))
    make_account(159, apps=("other-origin",), storage_users=("other",))
    params = setup(runtime, creds)

    ok = call(runtime, creds, name, **params)
    assert ok["status"] == "success", ok
    assert ok["message"] == command.message
    assert command.payload_key in ok

    assert call(runtime, creds, name, secret="0" * 64, **params)["code"] == 401
    stranger = Credentials(creds.cdn, "UNKNOWNKEY", creds.secret)
    assert call(runtime, stranger, name, **params)["code"] == 401
    if bad_params is not None:
        assert call(runtime, creds, name, **bad_params)["code"] in {400, 404}
    if command.writes:
        read_only = make_account(158, read_only=True)
        assert call(runtime, read_only, name, **params)["code"] == 403
