"""Every PHP-signed vector verifies on the server side, and the SDK reproduces it exactly."""

from __future__ import annotations

import json

import pytest

from streampanel.client import sign_request
from streampanel.protocol.signing import signature_matches, split_signature
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
