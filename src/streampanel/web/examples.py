"""Example requests, responses and client code for a command: PHP in the style of the
original documentation, Python with the SDK, and curl with openssl from a shell.

Every example is runnable as printed against a server holding the demo account (the
documentation's example credentials); the web tests run them.
"""

from __future__ import annotations

import json
import keyword
from typing import Any

from streampanel.client import Client, sign_request
from streampanel.commands.registry import Command
from streampanel.demo import DEMO_API_KEY, DEMO_CDN, DEMO_SECRET
from streampanel.protocol import envelope

# A fixed moment for the printed example request, so its signature can be checked by hand.
EXAMPLE_TIMESTAMP = 1710849600  # 2024-03-19 12:00:00 UTC
EXAMPLE_HANDLE_SECONDS = 0.0021


def example_request(command: Command, params: dict[str, Any]) -> str:
    """The request's JSON text as the SDK (and the PHP example) sends it, signed."""
    request = {
        "command": command.name,
        "api_key": DEMO_API_KEY,
        "timestamp": EXAMPLE_TIMESTAMP,
        "cdn": DEMO_CDN,
        **params,
    }
    return sign_request(request, DEMO_SECRET).final_json


def example_response(command: Command, payload: Any) -> str:
    body = envelope.success(command.message, command.payload_key, payload, EXAMPLE_HANDLE_SECONDS)
    return json.dumps(body, indent=4)


def php_literal(value: Any, indent: str = "    ") -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, list):
        return "array(" + ", ".join(php_literal(v, indent) for v in value) + ")"
    if isinstance(value, dict):
        inner = ", ".join(f"{php_literal(k)} => {php_literal(v, indent)}" for k, v in value.items())
        return f"array({inner})"
    raise TypeError(f"no PHP literal for {value!r}")


def php_example(command: Command, params: dict[str, Any], url: str) -> str:
    members = [
        ("command", php_literal(command.name)),
        ("api_key", php_literal(DEMO_API_KEY)),
        ("timestamp", "time()"),
        ("cdn", str(DEMO_CDN)),
        *((name, php_literal(value)) for name, value in params.items()),
    ]
    request = "\n".join(f"    {php_literal(name)} => {value}," for name, value in members)
    return f"""<?php
$request = array(
{request}
);

//Create request signature
$json_request = json_encode($request);
$sig = base64_encode(hash_hmac('sha256', $json_request,
    {php_literal(DEMO_SECRET)}, true));
$request['signature'] = $sig;
$json_request = json_encode($request);

$ch = curl_init();
curl_setopt($ch, CURLOPT_URL, {php_literal(url)}); // Set the URL
curl_setopt($ch, CURLOPT_POST, true); // Perform a POST
curl_setopt($ch, CURLOPT_RETURNTRANSFER, true); // If not set, curl prints output to the browser
curl_setopt($ch, CURLOPT_HEADER, false); // If set, curl returns headers as part of the data stream
curl_setopt($ch, CURLOPT_POSTFIELDS, array('json' => $json_request));
$response = curl_exec($ch); //Execute the API Call
if (!$response) {{
    die('Failed to connect to the API');
}}

//Decode the response as an associative array
$arrResponse = json_decode($response, true);
if ($arrResponse) {{
    //Operation completed successfully
    //TODO Add work here
    print_r($arrResponse);
}} else {{
    //Operation failed
    echo 'An error occured processing your request:';
    print_r($response);
}}
"""


def python_example(command: Command, params: dict[str, Any], url: str) -> str:
    method = command.name.replace(".", "_")
    # A member named by a Python keyword (sevu's 'pass') goes in as **{...}.
    plain = {n: v for n, v in params.items() if n.isidentifier() and not keyword.iskeyword(n)}
    others = {n: v for n, v in params.items() if n not in plain}
    arguments = ", ".join(
        [f"{name}={value!r}" for name, value in plain.items()]
        + ([f"**{others!r}"] if others else [])
    )
    if hasattr(Client, method) and not others:
        call = f"client.{method}({arguments})"
        comment = f"# the {command.payload_key!r} member of the answer"
    else:
        call = f"client.call({command.name!r}{', ' if arguments else ''}{arguments})"
        comment = "# the whole answer"
    return f"""from streampanel.client import Client, StreamPanelError

client = Client({url!r}, {DEMO_CDN}, {DEMO_API_KEY!r}, {DEMO_SECRET!r})
try:
    result = {call}  {comment}
except StreamPanelError as error:  # carries .code and .message
    print("failed:", error.code, error.message)
else:
    print(result)
"""


def _shell_single(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def curl_example(command: Command, params: dict[str, Any], url: str) -> str:
    marker = "__TIMESTAMP__"
    request = {
        "command": command.name,
        "api_key": DEMO_API_KEY,
        "timestamp": marker,
        "cdn": DEMO_CDN,
        **params,
    }
    text = json.dumps(request, separators=(",", ":"), ensure_ascii=False)
    before, after = text.split(json.dumps(marker))
    json_line = f'{_shell_single(before)}"$(date +%s)"{_shell_single(after)}'
    return f"""URL={_shell_single(url)}
SECRET={_shell_single(DEMO_SECRET)}
# The request without the signature: this exact text is what gets signed.
JSON={json_line}
SIG=$(printf '%s' "$JSON" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64)
# Add the signature member before the final brace; every other byte stays as signed.
curl -sS "$URL" --data-urlencode "json=${{JSON%?}},\\"signature\\":\\"$SIG\\"}}"
"""
