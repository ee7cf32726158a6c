"""The package's layers import only downward, read from the source (every import statement,
those under ``TYPE_CHECKING`` and inside functions included).

An *area* is a top-level module or package of ``streampanel`` (``server``, ``api``,
``viewers``, ``system.py``...).  From the top:

- ``system`` is the composition root: it builds the running system from settings and is the
  one area that knows every other.  Only ``cli`` (``streampanel serve``) imports it.
- ``server`` is the HTTP layer: the ASGI app, the bare API endpoint, request bodies, error
  pages.  Only ``system`` imports it, and it imports only the request path (``api``) and the
  foundation below everything: ``errors``, ``protocol``, ``settings``, ``secretbox``,
  ``store``, ``metrics``, ``service`` (what a background service gets) and ``asgi`` (the
  ASGI types and bounded body reading, shared with feature routes).  So it knows no
  feature: not ``commands`` (the registry and its command modules are the dispatcher's), not
  ``ingest``, ``viewers``, ``disk``, ``uploads``, ``web``, nor any area added later.
- ``api`` is the request path below HTTP (decode, authenticate, rate-limit, validate,
  execute): it imports neither ``server`` nor ``system``.
- Every feature (every other area: ``ingest``, ``viewers``, ``disk``, ``uploads``, ``web``,
  ``commands``, ``demo``...) imports neither ``server`` nor ``system``; features that answer
  HTTP get what they need (settings, store, dispatcher) from the composition root.
- The foundation imports only the foundation.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import streampanel

PACKAGE = Path(streampanel.__file__).parent
ROOT = "system"
HTTP = "server"
REQUEST_PATH = "api"
FOUNDATION = {
    "errors",
    "protocol",
    "settings",
    "secretbox",
    "store",
    "metrics",
    "service",
    "asgi",
}
# Who may import an area at all (besides the area itself).
IMPORTED_ONLY_BY = {ROOT: {"cli"}, HTTP: {ROOT}}
# What an area may import (besides itself); areas not listed are limited only by the above.
IMPORTS_ONLY = {HTTP: {REQUEST_PATH, *FOUNDATION}} | {area: FOUNDATION for area in FOUNDATION}


def area_of(path: Path) -> str:
    """``server`` for ``server/app.py``, ``system`` for ``system.py``."""
    parts = path.relative_to(PACKAGE).parts
    return parts[0].removesuffix(".py")


def imported_areas(source: str, module: str) -> Iterator[tuple[int, str, str]]:
    """(line, imported name, its area) for every import of a ``streampanel`` area in
    ``source``, the text of the module named ``module`` (``streampanel.web.panel``,
    ``streampanel.web.__init__``)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                # Relative: resolved against the importing module's package.
                parent = module.split(".")[: -node.level]
                base = ".".join([*parent, base] if base else parent)
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "streampanel" and len(parts) > 1:
                yield node.lineno, name, parts[1]


def violations(importer: str, imports: list[tuple[int, str, str]]) -> list[str]:
    found = []
    for line, name, area in imports:
        if area == importer:
            continue
        allowed_importers = IMPORTED_ONLY_BY.get(area)
        if allowed_importers is not None and importer not in allowed_importers:
            only = " and ".join(sorted(allowed_importers))
            found.append(f"line {line}: {importer} imports {name}; only {only} may import {area}")
        allowed_imports = IMPORTS_ONLY.get(importer)
        if allowed_imports is not None and area not in allowed_imports:
            only = ", ".join(sorted(allowed_imports))
            found.append(f"line {line}: {importer} imports {name}; it may import only {only}")
    return found


def module_name(path: Path) -> str:
    """``streampanel.server.app``; a package's ``__init__`` keeps its name part, so that a
    relative import resolves against the package itself."""
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


def test_layers_import_only_downward() -> None:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        imports = list(imported_areas(path.read_text(), module_name(path)))
        problems += [f"{path.relative_to(PACKAGE)} {v}" for v in violations(area_of(path), imports)]
    assert not problems, "\n".join(problems)


def test_every_layer_exists() -> None:
    # The rules name areas by string: a rename must update them, not silently void them.
    for area in {ROOT, HTTP, REQUEST_PATH, *FOUNDATION}:
        assert (PACKAGE / area).is_dir() or (PACKAGE / f"{area}.py").is_file(), area


def test_the_check_sees_a_forbidden_import() -> None:
    feature = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from streampanel.server.app import StreampanelApp\n"
        "def later():\n"
        "    import streampanel.system\n"
    )
    found = violations("viewers", list(imported_areas(feature, "streampanel.viewers.push")))
    assert [problem.split(":")[0] for problem in found] == ["line 3", "line 5"]
    server = "from ..ingest import service\nfrom streampanel.api import Dispatcher\n"
    found = violations("server", list(imported_areas(server, "streampanel.server.app")))
    assert len(found) == 1
    assert found[0].startswith("line 1: server imports streampanel.ingest.service; it may")
