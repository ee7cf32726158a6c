"""Every PHP-signed vector verifies on the server side, and the SDK reproduces it exactly."""

from __future__ import annotations

import base64
import hmac
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streampanel.client import sign_request
from streampanel.protocol.signing import Signer, signature_matches, split_signature
from tests.protocol.vectors import PHP_ARRAYS, SECRET, load_vectors

VECTORS = load_vectors()
IDS = [v["name"] for v in VECTORS]


def test_there_are_seventeen_vectors_and_a_python_array_for_each() -> None:
    assert len(VECTORS) == 17
    assert sorted(PHP_ARRAYS) == sorted(IDS)


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_member_removal_recovers_the_signed_text(vector: dict[str, str]) -> None:
    split = split_signature(vector["final_json"].encode("utf-8"))
    assert split.signed_text == vector["signed_text"].encode("utf-8")
    assert split.signature == vector["signature"]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_vector_verifies(vector: dict[str, str]) -> None:
    split = split_signature(vector["final_json"].encode("utf-8"))
    assert isinstance(split.signature, str)
    assert signature_matches(split.signed_text, SECRET, split.signature)
    assert signature_matches(split.signed_text, SECRET, split.signature.rstrip("="))


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_sdk_reproduces_php_byte_for_byte(vector: dict[str, str]) -> None:
    signed = sign_request(PHP_ARRAYS[vector["name"]], SECRET)
    assert signed.signed_text == vector["signed_text"]
    assert signed.signature == vector["signature"]
    assert signed.final_json == vector["final_json"]


def test_decoding_and_reencoding_would_not_verify_the_floats_vector() -> None:
    # Why the server must not re-serialize: PHP's -0 decodes to 0.
    vector = next(v for v in VECTORS if v["name"] == "floats")
    decoded = json.loads(vector["signed_text"])
    assert sign_request(decoded, SECRET).signature != vector["signature"]


@settings(max_examples=300, deadline=None)
@given(secret=st.text(max_size=200), text=st.binary(max_size=500))
def test_signer_is_hmac_sha256_for_any_secret_length(secret: str, text: bytes) -> None:
    expected = base64.b64encode(hmac.digest(secret.encode(), text, "sha256"))
    assert Signer(secret).signature(text) == expected
    assert Signer(secret).matches(text, expected.decode().rstrip("="))
    assert not Signer(secret + "x").matches(text, expected.decode())
