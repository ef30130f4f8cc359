"""SQL the two backends spell differently (hours between two moments, percentiles, weeks), and
the INSERTs of the hot path, written once for both.

Each is one SQLAlchemy construct compiled per dialect, so the figures are computed in the
database on both. SQLite has no percentile aggregate: `register_sqlite_functions` adds one
(written in Python) to every SQLite connection the store opens.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Float, Integer, String, Table, bindparam, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.schema import ScalarElementColumnDefault
from sqlalchemy.sql.selectable import TextualSelect

SQLITE_PERCENTILE = "grm_percentile"


class hours_between(FunctionElement[float]):
    """hours_between(later, earlier): the span in hours, fractional."""

    type = Float()
    inherit_cache = True


@compiles(hours_between, "postgresql")
def _hours_pg(element: hours_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 3600.0)"


@compiles(hours_between, "sqlite")
def _hours_sqlite(element: hours_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 24.0)"


class percentile(FunctionElement[float]):
    """percentile(value, share): the continuous percentile of `value` over the group (the
    median at 0.5), interpolated between neighbours as PostgreSQL's percentile_cont."""

    type = Float()
    inherit_cache = True

    def __init__(self, value: Any, share: float) -> None:
        super().__init__(value)
        self.share = float(share)


@compiles(percentile, "postgresql")
def _percentile_pg(element: percentile, compiler: SQLCompiler, **kw: Any) -> str:
    return f"percentile_cont({element.share!r}) WITHIN GROUP (ORDER BY {compiler.process(element.clauses, **kw)})"


@compiles(percentile, "sqlite")
def _percentile_sqlite(element: percentile, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{SQLITE_PERCENTILE}({compiler.process(element.clauses, **kw)}, {element.share!r})"


class week_of(FunctionElement[str]):
    """week_of(moment): the Monday (UTC) of its week, as YYYY-MM-DD."""

    type = String()
    inherit_cache = True


@compiles(week_of, "postgresql")
def _week_pg(element: week_of, compiler: SQLCompiler, **kw: Any) -> str:
    moment = compiler.process(element.clauses, **kw)
    return f"to_char(date_trunc('week', {moment} AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"


@compiles(week_of, "sqlite")
def _week_sqlite(element: week_of, compiler: SQLCompiler, **kw: Any) -> str:
    # To the coming Sunday (itself on a Sunday), then back six days.
    return f"date({compiler.process(element.clauses, **kw)}, 'weekday 0', '-6 days')"


class _Percentile:
    """The SQLite aggregate behind `percentile`."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.share = 0.5

    def step(self, value: float | None, share: float) -> None:
        if value is not None:
            self.values.append(value)
            self.share = share

    def finalize(self) -> float | None:
        if not self.values:
            return None
        ordered = sorted(self.values)
        position = self.share * (len(ordered) - 1)
        low, high = math.floor(position), math.ceil(position)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def register_sqlite_functions(dbapi_connection: Any) -> None:
    dbapi_connection.create_aggregate(SQLITE_PERCENTILE, 2, _Percentile)


def insert_returning_id(table_: Table, on_conflict: str) -> TextualSelect:
    """INSERT of every column but the key, with an ON CONFLICT clause, RETURNING the new id.

    Written out because the same SQL runs on PostgreSQL and SQLite, and because SQLAlchemy
    2.0's dialect inserts cannot be cached: they would be compiled anew on every filing. Its
    values come through `every_column`.
    """
    columns = [column for column in table_.columns if not column.primary_key]
    names = ", ".join(column.name for column in columns)
    values = ", ".join(f":{column.name}" for column in columns)
    return (
        text(f"INSERT INTO {table_.name} ({names}) VALUES ({values}) {on_conflict} RETURNING id")
        .bindparams(*(bindparam(column.name, type_=column.type) for column in columns))
        .columns(id=Integer)
    )


def every_column(table_: Table, values: dict[str, Any]) -> dict[str, Any]:
    """`values` with every other column but the key at its scalar default, or NULL: what an
    INSERT that binds every column needs, whatever columns were added since its caller was written."""
    row = {}
    for column in table_.columns:
        if column.primary_key:
            continue
        default = column.default
        fallback = default.arg if isinstance(default, ScalarElementColumnDefault) else None
        row[column.name] = values.get(column.name, fallback)
    return row
