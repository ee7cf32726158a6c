"""The command registry: name -> (parameter model, handler, scope, messages).

A command joins the API by defining its parameter model and handler in a module of this
package and decorating the handler with ``@command``; ``streampanel.commands`` imports every
such module, so the registry is complete once the package is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from streampanel.commands.context import CallContext
from streampanel.errors import InvalidParameter, MissingParameter
from streampanel.protocol.request import ENVELOPE_MEMBERS

P = TypeVar("P", bound=BaseModel)
Handler = Callable[[CallContext, Any], Any]


@dataclass(frozen=True)
class Command:
    name: str
    params: type[BaseModel]
    handler: Handler
    message: str
    summary: str
    payload_key: str = "data"
    # Commands that create something: refused for read-only keys, idempotent on signature.
    writes: bool = False
    # Cheap enough to run on the event loop (one indexed query, bounded result): a thread
    # hand-off would cost more than the work.  Everything else runs in the thread pool.
    inline: bool = False

    @cached_property
    def accepted_members(self) -> frozenset[str]:
        """Every request member this command reads: the envelope's and its parameters."""
        return ENVELOPE_MEMBERS | frozenset(self.params.model_fields)

    @cached_property
    def constant_params(self) -> BaseModel | None:
        """For a command without parameters, its one (frozen) parameter value, else None."""
        decorators = self.params.__pydantic_decorators__
        if self.params.model_fields or decorators.model_validators:
            return None
        return self.params.model_validate({})

    def parse_params(self, request: dict[str, Any]) -> BaseModel:
        if self.constant_params is not None:
            return self.constant_params
        try:
            return self.params.model_validate(request)
        except ValidationError as exc:
            raise _parameter_error(self.params, exc) from None


REGISTRY: dict[str, Command] = {}


def command(
    name: str,
    *,
    params: type[P],
    message: str,
    summary: str,
    payload_key: str = "data",
    writes: bool = False,
    inline: bool = False,
) -> Callable[[Callable[[CallContext, P], Any]], Callable[[CallContext, P], Any]]:
    def register(handler: Callable[[CallContext, P], Any]) -> Callable[[CallContext, P], Any]:
        assert name not in REGISTRY, f"command {name} registered twice"
        REGISTRY[name] = Command(
            name=name,
            params=params,
            handler=handler,
            message=message,
            summary=summary,
            payload_key=payload_key,
            writes=writes,
            inline=inline,
        )
        return handler

    return register


def expected_of(model: type[BaseModel], field: str) -> str:
    info = model.model_fields.get(field)
    extra = info.json_schema_extra if info is not None else None
    text = extra.get("expected") if isinstance(extra, dict) else None
    return text if isinstance(text, str) else "a valid value"


def _parameter_error(model: type[BaseModel], exc: ValidationError) -> Exception:
    # Report the first problem only, named by the request member the client sent.
    error = exc.errors()[0]
    field = str(error["loc"][0]) if error["loc"] else "request"
    if error["type"] == "missing":
        return MissingParameter(field, expected_of(model, field))
    return InvalidParameter(field, expected_of(model, field))
