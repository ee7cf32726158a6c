"""Which application a logged name is: the map from application names (as the URL or the
``x-app`` column gave them) to application ids, shared by local ingestion and the agents'
intake.  Application names are global, so a name maps to exactly one account's application.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from datetime import date

from sqlalchemy import Engine

from streampanel.store import accounts

# How often an unknown application name may trigger a reload of the map.
RELOAD_SECONDS = 5.0

Attributed = tuple[int, date, int, int]  # application id, day, bytes, requests
Unattributed = tuple[date, str, int, int]  # day, name as logged, bytes, requests


class ApplicationNames:
    """Splits per-(day, name) totals into attributed and unattributed ones.

    The map is read once and again when a name is not in it (an application created since),
    at most every ``reload_seconds``: a name that stays unknown costs no query per block.
    With ``reload_seconds`` 0 it is read for every split (a store whose applications are
    replaced, not only added to, as the tests' are).
    """

    def __init__(self, engine: Engine, reload_seconds: float = RELOAD_SECONDS):
        self._engine = engine
        self._reload_seconds = reload_seconds
        self._apps: dict[str, tuple[int, int]] = {}
        self._loaded = 0.0
        self._lock = threading.Lock()

    def split(
        self, rows: Iterable[tuple[date, str, int, int]]
    ) -> tuple[list[Attributed], list[Unattributed]]:
        rows = list(rows)
        if self._reload_seconds <= 0 or any(app not in self._apps for _, app, _, _ in rows):
            self._reload()
        apps = self._apps
        attributed: list[Attributed] = []
        unattributed: list[Unattributed] = []
        for day, app, sent, requests in rows:
            known = apps.get(app)
            if known is None:
                unattributed.append((day, app, int(sent), int(requests)))
            else:
                attributed.append((known[0], day, int(sent), int(requests)))
        return attributed, unattributed

    def _reload(self) -> None:
        with self._lock:
            if self._apps and time.monotonic() - self._loaded < self._reload_seconds:
                return
            with self._engine.connect() as conn:
                self._apps = accounts.application_ids_by_name(conn)
            self._loaded = time.monotonic()
