"""``streampanel call``: the SDK from the shell."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import typer

from streampanel.cli.output import fail, print_json, print_record, print_rows
from streampanel.client import Client, StreamPanelError

DEFAULT_CONFIG = Path.home() / ".config" / "streampanel" / "client.toml"


def parse_param(text: str) -> tuple[str, Any]:
    """``key=value``; the value is JSON when it parses as JSON (numbers, arrays), else text."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        fail(f"--param expects key=value, got {text!r}")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def _load_config(path: Path | None) -> dict[str, Any]:
    path = path or DEFAULT_CONFIG
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    return dict(data.get("client", data))


def call(
    command: str = typer.Argument(..., help="API command, e.g. video.getapps"),
    param: list[str] = typer.Option([], "--param", "-p", help="key=value; repeatable"),
    as_json: bool = typer.Option(False, "--json", help="Print the raw JSON response."),
    url: str | None = typer.Option(None, "--url", envvar="STREAMPANEL_URL"),
    cdn: int | None = typer.Option(None, "--cdn", envvar="STREAMPANEL_CDN"),
    api_key: str | None = typer.Option(None, "--api-key", envvar="STREAMPANEL_API_KEY"),
    secret: str | None = typer.Option(None, "--secret", envvar="STREAMPANEL_SECRET"),
    config: Path | None = typer.Option(
        None,
        "--config",
        help=f"Client config file (TOML with a `client` table; default {DEFAULT_CONFIG})",
    ),
) -> None:
    """Sign and send one API command; credentials from flags, environment or a config file."""
    settings = _load_config(config)
    url = url or settings.get("url") or "http://127.0.0.1:8080/stable/"
    cdn = cdn if cdn is not None else settings.get("cdn")
    api_key = api_key or settings.get("api_key")
    secret = secret or settings.get("secret")
    missing = [n for n, v in (("cdn", cdn), ("api-key", api_key), ("secret", secret)) if v is None]
    if missing:
        fail(
            "missing credentials: "
            + ", ".join(f"--{n}" for n in missing)
            + " (flags, STREAMPANEL_* environment, or the config file)"
        )
    assert cdn is not None and api_key is not None and secret is not None
    params = dict(parse_param(p) for p in param)
    with Client(url, int(cdn), str(api_key), str(secret)) as client:
        try:
            response = client.call(command, **params)
        except StreamPanelError as exc:
            if as_json and exc.response is not None:
                print_json(exc.response)
                raise typer.Exit(1) from None
            fail(f"{exc.code} {exc.message}")
    if as_json:
        print_json(response)
        return
    payload_key = next(
        (k for k in response if k not in {"status", "code", "message", "handle_time"}), None
    )
    payload = response.get(payload_key) if payload_key else None
    title = f"{response.get('message', '')} ({response.get('handle_time', '')})"
    if isinstance(payload, list):
        print_rows(payload, title)
    elif isinstance(payload, dict):
        print_record(payload, title)
    else:
        typer.echo(title)
