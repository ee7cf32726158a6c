"""The documentation cannot drift from the registry: every command has its docs entry, the
examples pass the command's own parameter model and verify as signed requests, and every
parameter type has a documented JSON form."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import pytest
from pydantic import BaseModel

from streampanel.commands import REGISTRY
from streampanel.commands.registry import expected_of
from streampanel.demo import DEMO_SECRET
from streampanel.protocol.request import decode_request_text
from streampanel.protocol.signing import signature_matches, split_signature
from streampanel.web.command_docs import COMMAND_DOCS
from streampanel.web.reference import all_references, command_reference
from streampanel.web.request_fields import json_forms, request_fields


def test_every_registered_command_is_documented_and_nothing_else() -> None:
    assert set(COMMAND_DOCS) == set(REGISTRY)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_example_request_passes_the_parameter_model(name: str) -> None:
    command = REGISTRY[name]
    command.parse_params(COMMAND_DOCS[name].example_params)  # raises a 400 error if not


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_example_payload_has_exactly_the_documented_fields(name: str) -> None:
    doc = COMMAND_DOCS[name]
    names = [f.name for f in doc.result_fields]
    assert len(names) == len(set(names))
    payload = doc.example_payload
    records = payload if isinstance(payload, list) else [payload]
    assert ("array" in doc.shape) == isinstance(payload, list) or doc.shape == "array or object"
    assert records, "an example shows at least one record"
    for record in records:
        assert list(record) == names


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_example_request_is_signed_as_the_server_verifies(name: str) -> None:
    raw = command_reference(name).example_request().encode()
    members = decode_request_text(raw)
    assert members["command"] == name
    assert signature_matches(split_signature(raw).signed_text, DEMO_SECRET, members["signature"])
    assert not signature_matches(
        split_signature(raw).signed_text + b" ", DEMO_SECRET, members["signature"]
    )


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_request_field_has_forms_and_an_expected_text(name: str) -> None:
    model = REGISTRY[name].params
    fields = request_fields(model)
    assert [f.name for f in fields] == list(model.model_fields)
    for field in fields:
        assert field.forms, field
        # The generic fallback means the parameter model forgot its expected("...") text.
        assert field.expected == expected_of(model, field.name) != "a valid value", field


def test_forms_follow_the_annotations() -> None:
    assert json_forms(int) == ["int"]
    assert json_forms(list[int | str]) == ["int", "string", "array int", "array string"]
    assert json_forms(Annotated[date, "x"] | None) == ["string", "int"]
    assert json_forms(dict[str, str]) == ["object"]


def test_an_undescribable_parameter_type_fails_loudly() -> None:
    class Odd(BaseModel):
        ratio: float

    with pytest.raises(TypeError, match="no documented JSON form"):
        request_fields(Odd)


def test_required_and_defaults_come_from_the_model() -> None:
    fields = {f.name: f for f in command_reference("aws.status").fields}
    assert not fields["limit"].required and fields["limit"].default == 25
    servers = {f.name: f for f in command_reference("video.servers").fields}
    assert servers["app"].required and not servers["starttime"].required
    upload = {f.name: f for f in command_reference("aws.upload").fields}
    assert upload["acl"].choices == ("private", "public-read")


def test_write_commands_document_the_same_record_as_their_status_command() -> None:
    pairs = {"aws.upload": "aws.status", "youtube.upload": "youtube.status"}
    for write, status in pairs.items():
        assert REGISTRY[write].writes
        assert COMMAND_DOCS[write].result_fields == COMMAND_DOCS[status].result_fields


def _records(payload: Any) -> list[dict[str, Any]]:
    return payload if isinstance(payload, list) else [payload]


def test_references_cover_the_registry_in_order() -> None:
    assert [r.name for r in all_references()] == sorted(REGISTRY)
    for reference in all_references():
        for record in _records(reference.doc.example_payload):
            assert isinstance(record, dict)
