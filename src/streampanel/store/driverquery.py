"""Core SELECTs compiled once per dialect and run straight on the driver's cursor.

For the queries on the read commands' path: there, building a statement and SQLAlchemy's
per-execution bookkeeping cost several times the query itself (a statement built per call
costs ~150 µs before it runs).  The statement is still written with SQLAlchemy Core, once,
with named ``bindparam``s; it runs inside whatever transaction the ``Connection`` is in.

Parameters go through the dialect's bind processing (a date becomes SQLite's ISO text), and
a list parameter is matched with ``in_list``: ``= ANY(array)`` on PostgreSQL, a JSON array
read by ``json_each`` on SQLite, so one compiled statement serves lists of every length.
Result values come as the driver gives them, integers and strings alike on both stores,
except where a column's type converts them (a ``DateTime`` on SQLite becomes a datetime, as
through SQLAlchemy); a ``Date`` comes as its ``YYYY-MM-DD`` text on both: what SQLite holds,
and what PostgreSQL sends, kept as text by the cursor instead of parsed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Date, Select, String
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.sqltypes import NullType
from sqlalchemy.sql.visitors import iterate


class InList(ColumnElement[bool]):
    """``column`` is one of the list bound to ``parameter`` (see the module's first lines)."""

    inherit_cache = False

    def __init__(self, column: ColumnElement[Any], parameter: BindParameter[Any], like: bool):
        self.column = column
        self.parameter = parameter
        self.by_pattern = like
        # Not Boolean: SQLite would get the test compared with 1, which hides it from the
        # planner.
        self.type = NullType()  # type: ignore[assignment]


def in_list(column: ColumnElement[Any], parameter: BindParameter[Any]) -> InList:
    """``column`` equals one of the values of the list ``parameter``."""
    return InList(column, parameter, like=False)


def like_any(column: ColumnElement[Any], parameter: BindParameter[Any]) -> InList:
    """``column`` is LIKE one of the patterns of the list ``parameter`` (escape ``\\``)."""
    return InList(column, parameter, like=True)


@compiles(InList, "postgresql")
def _postgresql_in_list(element: InList, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    parameter = compiler.process(element.parameter, **kw)
    # LIKE's escape character is a backslash by default on PostgreSQL.
    return f"{column} {'LIKE' if element.by_pattern else '='} ANY ({parameter})"


@compiles(InList, "sqlite")
def _sqlite_in_list(element: InList, compiler: SQLCompiler, **kw: Any) -> str:
    # Compiled SQL of a column and a bound parameter: no client text is ever part of it.
    column = compiler.process(element.column, **kw)
    parameter = compiler.process(element.parameter, **kw)
    if element.by_pattern:
        return (
            f"EXISTS (SELECT 1 FROM json_each({parameter}) "  # noqa: S608
            f"WHERE {column} LIKE json_each.value ESCAPE '\\')"
        )
    return f"{column} IN (SELECT value FROM json_each({parameter}))"  # noqa: S608


class CodePointOrder(ColumnElement[str]):
    """A text column compared by code point (Python's order for ``str``)."""

    type = String()
    inherit_cache = False

    def __init__(self, column: ColumnElement[Any]):
        self.column = column


def code_point_order(column: ColumnElement[Any]) -> CodePointOrder:
    """``column`` to sort by code point on every store, as Python sorts strings: SQLite's
    default collation already does; PostgreSQL's depends on the database's locale."""
    return CodePointOrder(column)


@compiles(CodePointOrder, "postgresql")
def _postgresql_code_points(element: CodePointOrder, compiler: SQLCompiler, **kw: Any) -> str:
    return f'{compiler.process(element.column, **kw)} COLLATE "C"'


@compiles(CodePointOrder, "sqlite")
def _sqlite_code_points(element: CodePointOrder, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.column, **kw))


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # Parameter names in order for drivers taking positional parameters (SQLite's ``?``);
    # None for named ones (psycopg's ``%(name)s``).
    order: tuple[str, ...] | None
    # name -> conversion, for parameters whose type the dialect converts or that are lists
    converters: tuple[tuple[str, Callable[[Any], Any]], ...]
    # column index -> conversion, for result columns whose type the dialect converts
    results: tuple[tuple[int, Callable[[Any], Any]], ...]


def _list_converter(dialect_name: str, item: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    def convert(values: Any) -> Any:
        items = [item(v) for v in values] if item is not None else list(values)
        return json.dumps(items) if dialect_name == "sqlite" else items

    return convert


class DriverQuery:
    def __init__(self, statement: Select[Any]):
        self._statement = statement
        self._compiled: dict[str, _Compiled] = {}
        self._lists = {
            element.parameter.key for element in iterate(statement) if isinstance(element, InList)
        }

    def _for(self, conn: Connection) -> _Compiled:
        dialect = conn.dialect
        entry = self._compiled.get(dialect.name)
        if entry is None:
            compiled = self._statement.compile(dialect=dialect)
            order = tuple(compiled.positiontup or ()) if compiled.positional else None
            converters: list[tuple[str, Callable[[Any], Any]]] = []
            for name, bind in compiled.binds.items():
                process = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if name in self._lists:
                    converters.append((name, _list_converter(dialect.name, process)))
                elif process is not None:
                    converters.append((name, process))
            results = []
            for index, column in enumerate(self._statement.selected_columns):
                if isinstance(column.type, Date):
                    continue  # text on both stores (the module's first lines)
                process = column.type.dialect_impl(dialect).result_processor(dialect, None)
                if process is not None:
                    results.append((index, process))
            entry = self._compiled[dialect.name] = _Compiled(
                compiled.string, order, tuple(converters), tuple(results)
            )
        return entry

    def rows(self, conn: Connection, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        compiled = self._for(conn)
        if compiled.converters:
            params = params.copy()
            for name, convert in compiled.converters:
                params[name] = convert(params[name])
        order = compiled.order
        arguments = [params[name] for name in order] if order is not None else params
        dbapi_error = conn.dialect.loaded_dbapi.Error
        driver = None
        try:
            driver = conn.connection.driver_connection
            cursor = _cursor(conn.connection.info, driver)
            cursor.execute(compiled.sql, arguments)
            found = cursor.fetchall()
        except dbapi_error as exc:
            # Behave as SQLAlchemy would: its exception types, and a dead connection dropped
            # (and said to be: a restart is then retried once, an outage answered 503).
            disconnect = conn.dialect.is_disconnect(exc, driver, None)
            if disconnect:
                conn.invalidate(exc)
            raise DBAPIError.instance(
                compiled.sql, arguments, exc, dbapi_error, connection_invalidated=disconnect
            ) from exc
        if not compiled.results:
            return list(found)
        rows = []
        for row in found:
            values = list(row)
            for index, convert in compiled.results:
                values[index] = convert(values[index])
            rows.append(tuple(values))
        return rows


def _cursor(info: dict[Any, Any], driver: Any) -> Any:
    """The driver connection's own cursor for these queries, made once per connection
    (``info`` lives as long as it): a cursor per query costs more than some queries."""
    cursor = info.get(_CURSOR)
    if cursor is None or cursor.connection is not driver:
        cursor = info[_CURSOR] = driver.cursor()
        if type(driver).__module__.startswith("psycopg"):
            from psycopg.types.string import TextLoader  # only ever loaded on PostgreSQL

            # Dates as the text PostgreSQL sends (ISO, the DateStyle psycopg requires).
            cursor.adapters.register_loader("date", TextLoader)
    return cursor


_CURSOR = "streampanel.driverquery.cursor"
