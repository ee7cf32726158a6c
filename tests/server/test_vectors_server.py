"""Every PHP-signed vector authenticates on the server (clock pinned to its timestamp); every
single-byte change of its ``final_json``, at every position, fails."""

from __future__ import annotations

import json

import pytest

from streampanel.api import Dispatcher
from streampanel.errors import ApiError
from streampanel.protocol.request import Envelope, decode_request_text
from streampanel.runtime import Runtime
from tests.conftest import MakeAccount
from tests.protocol.vectors import API_KEY, CDN, SECRET, load_vectors

VECTORS = load_vectors()


def authenticates(dispatcher: Dispatcher, raw: bytes) -> bool:
    try:
        dispatcher.authenticate(raw, Envelope(decode_request_text(raw)))
    except ApiError:
        return False
    return True


@pytest.fixture
def demo_key(make_account: MakeAccount) -> None:
    make_account(CDN, api_key=API_KEY, secret=SECRET)


def pinned(runtime: Runtime, timestamp: int) -> Dispatcher:
    return Dispatcher(runtime.settings, runtime.engine, runtime.box, clock=lambda: timestamp)


@pytest.mark.usefixtures("demo_key")
def test_every_vector_verifies_and_every_byte_change_fails(runtime: Runtime) -> None:
    checked = 0
    for vector in VECTORS:
        raw = vector["final_json"].encode("utf-8")
        timestamp = int(json.loads(raw)["timestamp"])
        dispatcher = pinned(runtime, timestamp)
        assert authenticates(dispatcher, raw), vector["name"]
        # The full path gets past authentication: never a 401 for a genuine request.
        assert dispatcher.handle(raw).body["code"] != 401, vector["name"]
        for position in range(len(raw)):
            for flip in (0x01, 0x40):
                mutated = bytearray(raw)
                mutated[position] ^= flip
                assert not authenticates(dispatcher, bytes(mutated)), (
                    vector["name"],
                    position,
                    chr(raw[position]),
                    flip,
                )
                checked += 1
    assert checked > 17 * 2 * 200


@pytest.mark.usefixtures("demo_key")
def test_vectors_refused_outside_the_window(runtime: Runtime) -> None:
    for vector in VECTORS:
        raw = vector["final_json"].encode("utf-8")
        timestamp = int(json.loads(raw)["timestamp"])
        assert not authenticates(pinned(runtime, timestamp + 301), raw)
        assert not authenticates(pinned(runtime, timestamp - 301), raw)
        assert authenticates(pinned(runtime, timestamp + 300), raw)
