"""/docs served by the app and exported by ``streampanel docs export``: every command has
its page with its request fields, examples and result fields; the export is the same pages
with working relative links."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from streampanel.cli import app as cli
from streampanel.commands import REGISTRY
from streampanel.runtime import Runtime
from streampanel.web.command_docs import COMMAND_DOCS
from streampanel.web.request_fields import request_fields
from tests.conftest import in_process_app


@pytest.fixture
def web(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(in_process_app(runtime), follow_redirects=False) as client:
        yield client


def test_index_lists_every_command(web: TestClient) -> None:
    assert web.get("/docs").headers["location"] == "/docs/"
    page = web.get("/docs/")
    assert page.status_code == 200
    assert "script" not in page.headers["content-security-policy"]
    for name, command in REGISTRY.items():
        assert f'href="{name}.html"' in page.text
        assert command.summary in unescape(page.text)
    assert "http://testserver/stable/" in page.text


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_command_page(web: TestClient, name: str) -> None:
    page = web.get(f"/docs/{name}.html")
    assert page.status_code == 200
    text = unescape(page.text)
    command, doc = REGISTRY[name], COMMAND_DOCS[name]
    assert f"<h1>{name}</h1>" in text
    assert command.summary in text and doc.description in text
    for field in request_fields(command.params):
        row = re.search(rf'<tr data-field="{re.escape(field.name)}">(.*?)</tr>', text, re.S)
        assert row is not None, field.name
        assert ("REQUIRED" if field.required else "OPTIONAL") in row[1]
        assert all(f"[{form}]" in row[1] for form in field.forms)
        assert field.expected[1:] in row[1]
    for member in ("command", "cdn", "api_key", "timestamp", "signature"):
        assert f'data-field="{member}"' in text
    for result in doc.result_fields:
        assert f'data-result="{result.name}"' in text
    for language in ("PHP", "Python", "curl"):
        assert f'data-example="{language}"' in text
    assert "'http://testserver/stable/'" in text  # the examples call this server
    assert f'"message": "{command.message}"' in text
    assert f'"{command.payload_key}":' in text


def test_unknown_page_is_a_404(web: TestClient) -> None:
    missing = web.get("/docs/nope.html")
    assert missing.status_code == 404
    assert missing.json()["code"] == 404  # the API's envelope, never an HTML error page
    assert web.get("/docs/docs.css").headers["content-type"].startswith("text/css")
    assert web.get("/docs/favicon.svg").headers["content-type"].startswith("image/svg+xml")


def test_export_writes_the_served_pages(web: TestClient, tmp_path: Path) -> None:
    out = tmp_path / "site"
    result = CliRunner().invoke(
        cli, ["docs", "export", str(out), "--api-url", "http://testserver/stable/"]
    )
    assert result.exit_code == 0, result.output
    assert (out / "index.html").read_text() == web.get("/docs/").text
    for name in REGISTRY:
        assert (out / f"{name}.html").read_text() == web.get(f"/docs/{name}.html").text
    # Every relative link and asset of every page exists in the export.
    for page in out.glob("*.html"):
        for target in re.findall(r'(?:href|src)="([^"#:]+)"', page.read_text()):
            assert (out / target).is_file(), (page.name, target)
