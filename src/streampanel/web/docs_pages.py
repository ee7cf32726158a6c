"""``/docs`` as HTML: an index of the commands and one page per command.

The same pages are served by ``streampanel serve`` and written by ``streampanel docs export``;
links are relative and the stylesheet sits beside the pages, so an exported directory works
from any static file server (or straight from disk).
"""

from __future__ import annotations

import json
from html import escape
from importlib import resources
from pathlib import Path

from streampanel.web.examples import EXAMPLE_TIMESTAMP
from streampanel.web.reference import (
    ANSWER_FIELDS,
    ENVELOPE_FIELDS,
    CommandReference,
    all_references,
    command_reference,
)
from streampanel.web.request_fields import RequestField

STYLESHEET = "docs.css"
FAVICON = "favicon.svg"
# Files beside the pages, served under /docs/ and copied by the export.
ASSETS = (STYLESHEET, FAVICON)


def asset(name: str) -> str:
    assert name in ASSETS
    return resources.files("streampanel.web").joinpath("static", name).read_text()


_CREDENTIALS_NOTE = (
    "The examples use the documentation's example account (cdn 158 and its key and secret), "
    "which exists only on a server started with <code>--demo</code>: put your own cdn, "
    "api_key and secret in their place."
)


def _page(title: str, body: str, references: list[CommandReference], current: str = "") -> str:
    links = "\n".join(
        f'<li><a href="{escape(r.name)}.html"'
        f"{' aria-current=page' if r.name == current else ''}>{escape(r.name)}</a></li>"
        for r in references
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<link rel="icon" href="{FAVICON}" type="image/svg+xml">
<link rel="stylesheet" href="{STYLESHEET}">
</head>
<body>
<header><a href="index.html" class="brand">streampanel</a> <span>API documentation</span></header>
<div class="layout">
<nav><h2>Commands</h2><ul>
{links}
</ul></nav>
<main>
{body}
</main>
</div>
</body>
</html>
"""


def _forms(field: RequestField) -> str:
    return " ".join(f"<code>[{escape(form)}]</code>" for form in field.forms)


def _request_row(field: RequestField, envelope: bool = False) -> str:
    flag = "REQUIRED" if field.required else "OPTIONAL"
    notes = [escape(field.expected[0].upper() + field.expected[1:])]
    if field.choices:
        notes.append("One of " + ", ".join(f"<code>{escape(c)}</code>" for c in field.choices))
    if not field.required and field.default not in (None, "", {}, []):
        notes.append(f"Default <code>{escape(json.dumps(field.default))}</code>")
    cls = ' class="envelope"' if envelope else ""
    return (
        f'<tr{cls} data-field="{escape(field.name)}"><td><code>{escape(field.name)}</code></td>'
        f'<td class="flag {flag.lower()}">{flag}</td><td>{_forms(field)}</td>'
        f"<td>{'. '.join(notes)}</td></tr>"
    )


def _pre(text: str, language: str, wrap: bool = False) -> str:
    cls = "code wrap" if wrap else "code"
    return (
        f'<pre class="{cls}" data-language="{escape(language)}"><code>{escape(text)}</code></pre>'
    )


def command_page(
    reference: CommandReference, api_url: str, references: list[CommandReference]
) -> str:
    command, doc = reference.command, reference.doc
    request_rows = "\n".join(
        [_request_row(f, envelope=True) for f in ENVELOPE_FIELDS]
        + [_request_row(f) for f in reference.fields]
    )
    answer_rows = "\n".join(
        f"<tr><td><code>{escape(f.name)}</code></td><td><code>[{escape(f.type)}]</code></td>"
        f"<td>{escape(f.description)}</td></tr>"
        for f in ANSWER_FIELDS
    )
    payload_rows = "\n".join(
        f'<tr data-result="{escape(f.name)}"><td><code>{escape(f.name)}</code></td>'
        f"<td><code>[{escape(f.type)}]</code></td><td>{escape(f.description)}</td></tr>"
        for f in doc.result_fields
    )
    code = "\n".join(
        f'<section class="example" data-example="{escape(lang)}"><h3>{escape(lang)}</h3>'
        f"{_pre(text, lang)}</section>"
        for lang, text in reference.code_examples(api_url).items()
    )
    writes = (
        '<p class="note">Creates something: refused for read-only keys; the same signed '
        "request sent again answers the first response.</p>"
        if command.writes
        else ""
    )
    body = f"""<article class="command" data-command="{escape(command.name)}">
<h1>{escape(command.name)}</h1>
<p class="summary">{escape(command.summary)}</p>
<p>{escape(doc.description)}</p>
{writes}
<h2>Request fields</h2>
<table class="fields request">
<thead><tr><th>Field</th><th></th><th>Forms</th><th>Meaning</th></tr></thead>
<tbody>
{request_rows}
</tbody></table>
<h2>Example code</h2>
<p>{_CREDENTIALS_NOTE}</p>
{code}
<h2>Example request (JSON)</h2>
<p>As sent in the form field <code>json</code>, signed with the example secret at timestamp
<code>{EXAMPLE_TIMESTAMP}</code>.</p>
{_pre(reference.example_request(), "json", wrap=True)}
<h2>Example result (JSON)</h2>
{_pre(reference.example_response(), "json")}
<h2>Result fields</h2>
<table class="fields answer"><tbody>
{answer_rows}
<tr><td><code>{escape(command.payload_key)}</code></td><td><code>[{escape(doc.shape)}]</code></td>
<td>{"Records" if "array" in doc.shape else "The record"} with these fields:</td></tr>
</tbody></table>
<table class="fields payload"><tbody>
{payload_rows}
</tbody></table>
</article>"""
    return _page(f"{command.name} — streampanel API", body, references, command.name)


def index_page(api_url: str, references: list[CommandReference]) -> str:
    rows = "\n".join(
        f'<tr><td><a href="{escape(r.name)}.html"><code>{escape(r.name)}</code></a></td>'
        f"<td>{escape(r.command.summary)}</td></tr>"
        for r in references
    )
    body = f"""<h1>API documentation</h1>
<p>Every command is a <code>POST</code> to <code>{escape(api_url)}</code> with one form field,
<code>json</code>, holding the request's JSON text (a JSON body, or the field url-encoded,
works too). The request names the <code>command</code>, your <code>cdn</code> id, your
<code>api_key</code> and the <code>timestamp</code>, plus the command's own fields.</p>
<h2>Signing</h2>
<ol>
<li>Serialize the request (without <code>signature</code>) to JSON text.</li>
<li><code>signature</code> = base64 of HMAC-SHA256 of exactly that text, keyed with your
secret.</li>
<li>Add the <code>signature</code> member and send the JSON text again serialized (or with the
member inserted before the final brace): the server cuts the member out of the bytes it
receives and checks the rest, so any JSON serializer works.</li>
</ol>
<p>{_CREDENTIALS_NOTE}</p>
<h2>Answers</h2>
<p>Always a JSON object with <code>status</code> (<code>success</code> or <code>failure</code>),
<code>code</code>, <code>message</code> and <code>handle_time</code>; a success carries the
command's payload (<code>data</code>, or <code>usage</code> for <code>disk.usage</code>).
Failure codes: 400 invalid or missing parameter (the message names the field and what was
expected), 401 authentication failed, 403 not allowed for this key, 404 unknown command or
object, 409 conflict, 413 request too large, 429 rate limited (see
<code>Retry-After</code>), 500 internal error, 503 store unavailable. Times are UTC.</p>
<h2>Commands</h2>
<table class="commands"><tbody>
{rows}
</tbody></table>"""
    return _page("streampanel API documentation", body, references)


def render_page(page: str, api_url: str) -> str | None:
    """The HTML of ``index`` or a command's page, or None when there is no such page."""
    references = all_references()
    if page == "index":
        return index_page(api_url, references)
    if page not in {r.name for r in references}:
        return None
    return command_page(command_reference(page), api_url, references)


def export(directory: Path, api_url: str) -> list[Path]:
    """Write the whole documentation as static files; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    references = all_references()
    pages = {"index": index_page(api_url, references)}
    pages.update({r.name: command_page(r, api_url, references) for r in references})
    written = []
    for name, html in pages.items():
        path = directory / f"{name}.html"
        path.write_text(html, encoding="utf-8")
        written.append(path)
    for name in ASSETS:
        path = directory / name
        path.write_text(asset(name), encoding="utf-8")
        written.append(path)
    return written
