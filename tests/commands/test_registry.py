"""The command registry's parameter parsing."""

from __future__ import annotations

from typing import Any

from pydantic import model_validator

from streampanel.commands import REGISTRY
from streampanel.commands.params import Params
from streampanel.commands.registry import Command


def _command(params: type[Params]) -> Command:
    return Command("test.command", params, lambda ctx, p: None, "Done", "A test command.")


def test_a_command_without_parameters_validates_its_one_value_once() -> None:
    getapps = REGISTRY["video.getapps"]
    first = getapps.parse_params({"command": "video.getapps", "anything": 1})
    assert first is getapps.parse_params({"command": "video.getapps"})


def test_a_model_validator_makes_parameters_vary_even_without_fields() -> None:
    class Checked(Params):
        @model_validator(mode="before")
        @classmethod
        def inspect_raw_input(cls, data: Any) -> Any:
            return data

    assert _command(Checked).constant_params is None


def test_commands_with_fields_validate_every_request() -> None:
    servers = REGISTRY["video.servers"]
    assert servers.constant_params is None
