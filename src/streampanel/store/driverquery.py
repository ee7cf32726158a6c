"""Core SELECTs compiled once per dialect and run straight on the driver's cursor.

For the few queries on every request's path whose columns need no SQLAlchemy type processing
(integers and strings): there, SQLAlchemy's per-execution bookkeeping costs several times the
query itself.  The statement is still written with SQLAlchemy Core, and runs inside whatever
transaction the ``Connection`` is in.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select
from sqlalchemy.exc import DBAPIError


class DriverQuery:
    def __init__(self, statement: Select[Any]):
        self._statement = statement
        # dialect name -> (SQL text, positional parameter order or None for named)
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None]] = {}

    def _for(self, conn: Connection) -> tuple[str, tuple[str, ...] | None]:
        entry = self._compiled.get(conn.dialect.name)
        if entry is None:
            compiled = self._statement.compile(dialect=conn.dialect)
            order = tuple(compiled.positiontup or ()) if compiled.positional else None
            entry = self._compiled[conn.dialect.name] = (compiled.string, order)
        return entry

    def rows(self, conn: Connection, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        sql, order = self._for(conn)
        arguments = [params[name] for name in order] if order is not None else params
        dbapi_error = conn.dialect.loaded_dbapi.Error
        driver = None
        try:
            driver = conn.connection.driver_connection
            cursor = driver.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(sql, arguments)
                return list(cursor.fetchall())
            finally:
                cursor.close()
        except dbapi_error as exc:
            # Behave as SQLAlchemy would: its exception types, and a dead connection dropped.
            if conn.dialect.is_disconnect(exc, driver, None):
                conn.invalidate(exc)
            raise DBAPIError.instance(sql, arguments, exc, dbapi_error) from exc
