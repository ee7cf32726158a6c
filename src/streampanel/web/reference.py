"""The documentation model: everything ``/docs`` shows about a command, gathered from the
command registry (name, parameter model, message, summary, payload key, writes) and
``command_docs`` (description, result fields, examples).
"""

from __future__ import annotations

from dataclasses import dataclass

from streampanel.commands import REGISTRY, Command
from streampanel.web import examples
from streampanel.web.command_docs import COMMAND_DOCS, CommandDoc, ResultField
from streampanel.web.request_fields import RequestField, request_fields

# The members every request carries, listed on every command's page as the original
# documentation lists them.
ENVELOPE_FIELDS = (
    RequestField("command", ("string",), True, "the API command to execute"),
    RequestField("cdn", ("int",), True, "the CDN id of your account"),
    RequestField("api_key", ("string",), True, "the API key provided as part of your account"),
    RequestField(
        "timestamp",
        ("int",),
        True,
        "the unix time of your request (within 300 seconds of the server's clock), so that "
        "signed requests cannot be replayed later",
    ),
    RequestField(
        "signature",
        ("string",),
        True,
        "base64 of the HMAC-SHA256, keyed with your secret, of the request's JSON text "
        "without the signature member",
    ),
)

# Members of every answer besides the payload.
ANSWER_FIELDS = (
    ResultField("status", "string", '"success" or "failure"'),
    ResultField("code", "int", "API response code: 200, or the failure's 4xx/5xx code"),
    ResultField("message", "string", "What was done, or why it failed"),
    ResultField("handle_time", "string", 'Time spent processing the request, "0.0021 seconds"'),
)


@dataclass(frozen=True)
class CommandReference:
    command: Command
    doc: CommandDoc
    fields: list[RequestField]

    @property
    def name(self) -> str:
        return self.command.name

    def example_request(self) -> str:
        return examples.example_request(self.command, self.doc.example_params)

    def example_response(self) -> str:
        return examples.example_response(self.command, self.doc.example_payload)

    def code_examples(self, api_url: str) -> dict[str, str]:
        params = self.doc.example_params
        return {
            "PHP": examples.php_example(self.command, params, api_url),
            "Python": examples.python_example(self.command, params, api_url),
            "curl": examples.curl_example(self.command, params, api_url),
        }


def command_reference(name: str) -> CommandReference:
    command = REGISTRY[name]
    return CommandReference(command, COMMAND_DOCS[name], request_fields(command.params))


def all_references() -> list[CommandReference]:
    """Every registered command, grouped by domain (the part before the dot), then by name."""
    return [command_reference(name) for name in sorted(REGISTRY)]
