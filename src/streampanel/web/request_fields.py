"""Request fields of a command, derived from its pydantic parameter model.

The JSON forms a field accepts come from its annotation; what the values mean comes from the
field's ``expected`` text (the same text a 400 answer quotes).  A parameter type this module
cannot describe raises ``TypeError``, so a new kind of parameter fails the docs tests instead
of being documented wrongly.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from streampanel.commands.registry import expected_of


@dataclass(frozen=True)
class RequestField:
    name: str
    forms: tuple[str, ...]  # JSON forms accepted: "int", "string", "array string", ...
    required: bool
    expected: str
    default: Any = None
    choices: tuple[str, ...] = ()


def json_forms(annotation: Any) -> list[str]:
    """The JSON forms of a parameter annotation, in the original documentation's words."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return json_forms(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        forms: list[str] = []
        for arg in get_args(annotation):
            if arg is not type(None):
                forms += [f for f in json_forms(arg) if f not in forms]
        return forms
    if origin is Literal:
        return ["string"] if all(isinstance(a, str) for a in get_args(annotation)) else ["int"]
    if origin is list:
        # Every list parameter of the protocol also takes a single element (PHP clients send
        # one app as a plain value), so the element forms come first.
        element = json_forms(get_args(annotation)[0])
        return element + [f"array {form}" for form in element]
    if origin is dict or annotation is dict:
        return ["object"]
    if annotation is bool:
        return ["bool"]
    if annotation is int:
        return ["int"]
    if annotation is str:
        return ["string"]
    if annotation in (date, datetime):
        return ["string", "int"]  # a text form or unix seconds
    raise TypeError(f"no documented JSON form for parameter type {annotation!r}")


def _choices(annotation: Any) -> tuple[str, ...]:
    origin = get_origin(annotation)
    if origin is Literal:
        return tuple(str(a) for a in get_args(annotation))
    if origin in (Annotated, Union, types.UnionType):
        for arg in get_args(annotation):
            found = _choices(arg)
            if found:
                return found
    return ()


def request_fields(model: type[BaseModel]) -> list[RequestField]:
    fields = []
    for name, info in model.model_fields.items():
        default = None
        if not info.is_required():
            default = info.default_factory() if info.default_factory else info.default  # type: ignore[call-arg]
            if default is PydanticUndefined:
                default = None
        fields.append(
            RequestField(
                name=name,
                forms=tuple(json_forms(info.annotation)),
                required=info.is_required(),
                expected=expected_of(model, name),
                default=default,
                choices=_choices(info.annotation),
            )
        )
    return fields
