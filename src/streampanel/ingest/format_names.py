"""The access-log formats' names: one spelling each, used by the settings, the CLI and the docs.

Kept apart from the parsers so that settings and command-line options can name a format
without loading polars.  HLS viewer counting reads only formats with one HTTP request per
line; Wowza's log is one line per session event.
"""

from __future__ import annotations

import logging

log = logging.getLogger("streampanel.ingest")

NGINX_COMBINED = "nginx-combined"
NGINX_JSON = "nginx-json"
WOWZA = "wowza"
FORMATS = (NGINX_COMBINED, NGINX_JSON, WOWZA)
# Formats whose every line is one HTTP request with its client, target and status.
REQUEST_FORMATS = (NGINX_COMBINED, NGINX_JSON)

# Spellings of earlier versions (``collect hls --format``, ``hls_collectors.format``): still
# read from existing configuration files and scripts, with a line in the log.
_OLD_NAMES = {"combined": NGINX_COMBINED, "json": NGINX_JSON}
_warned: set[str] = set()


def format_name(name: str) -> str:
    """``name``, or the current name of a deprecated spelling (logged once per process).

    Unknown names are returned as they are: whoever uses the format refuses them, naming
    the formats it reads.
    """
    current = _OLD_NAMES.get(name)
    if current is None:
        return name
    if name not in _warned:
        _warned.add(name)
        log.warning("log format %r is deprecated: use %r", name, current)
    return current
