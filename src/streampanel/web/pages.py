"""The panel's HTML shells, filled from the package's templates (values escaped here)."""

from __future__ import annotations

from functools import cache
from html import escape
from importlib import resources
from string import Template


@cache
def _template(name: str) -> Template:
    return Template(resources.files("streampanel.web").joinpath("templates", name).read_text())


def login_page(login_token: str, error: str = "", cdn: str = "", api_key: str = "") -> str:
    return _template("login.html").substitute(
        login_token=escape(login_token),
        error=f'<p class="error" role="alert">{escape(error)}</p>' if error else "",
        cdn=escape(cdn),
        api_key=escape(api_key),
    )


def panel_page(cdn: int, key_label: str) -> str:
    return _template("panel.html").substitute(cdn=cdn, key_label=escape(key_label or "-"))
