"""Statements compiled once per dialect and run straight on the driver's cursor.

SQLAlchemy spends far more time around a small query than the database spends answering it:
about 50 microseconds per Core execution and 150 per ORM load, against 5 to 10 for the query
itself on SQLite (measured in bench/README.md). The few reads that every API call makes (its
credential, the record it asks for) are written as ordinary Core ``select()`` statements and
wrapped in :class:`Prepared`: compiled to SQL text once for each dialect, their parameters and
rows converted with the same type processors SQLAlchemy itself would use, so a UUID, a UTC
datetime or a date comes back as it does from a normal query, on both engines.

On asyncpg (PostgreSQL reads on the event loop, see :mod:`careplane.kernel.db`) the statement
goes to the driver's own connection rather than through SQLAlchemy's DBAPI adapter for it, which
costs as much again as asyncpg itself; asyncpg prepares it on the server once per connection.

Only plain statements qualify: no expanding ``IN`` parameters, no Python-side column defaults
(reads never need them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Select
from sqlalchemy.util import await_

_Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: bool
    #: (parameter name, key the caller passes or None, fixed value, bind processor), in SQL order.
    binds: tuple[tuple[str, str | None, Any, _Processor], ...]
    result_processors: tuple[_Processor, ...]


class Prepared:
    """A Core ``select()`` ready to run on a DBAPI connection of any configured dialect.

    Parameters the statement names with ``bindparam("key")`` are passed by key; literal values
    in the statement are bound once at compile time.
    """

    def __init__(self, statement: Select[*tuple[Any, ...]]) -> None:
        self.statement = statement
        keys = [c.key for c in statement.selected_columns]
        self.columns: tuple[str, ...] = tuple(key for key in keys if key is not None)
        if len(self.columns) != len(keys):
            raise ValueError("every selected column needs its own label")
        #: By dialect and driver: the SQL text differs by parameter style, the processors by driver.
        self._by_dialect: dict[str, _Compiled] = {}

    def rows(self, dbapi_connection: Any, dialect: Dialect, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row, each a tuple in the order of :attr:`columns`."""
        compiled = self._by_dialect.get(dialect.dialect_description) or self._compile(dialect)
        if compiled.positional:
            args: Any = tuple(_bound(params, key, fixed, process) for _, key, fixed, process in compiled.binds)
        else:
            args = {name: _bound(params, key, fixed, process) for name, key, fixed, process in compiled.binds}
        if dialect.driver == "asyncpg":
            raw = await_(dialect.get_driver_connection(dbapi_connection).fetch(compiled.sql, *args))
        else:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(compiled.sql, args)
                raw = cursor.fetchall()
            finally:
                cursor.close()
        processors = compiled.result_processors
        return [
            tuple(
                value if process is None or value is None else process(value)
                for process, value in zip(processors, row, strict=True)
            )
            for row in raw
        ]

    def mappings(self, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
        """Rows of this statement as column-name mappings."""
        return [dict(zip(self.columns, row, strict=True)) for row in rows]

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        names = compiled.positiontup if dialect.positional else list(compiled.binds)
        binds = []
        for name in names or ():
            bind = compiled.binds[name]
            if bind.expanding:
                raise ValueError(f"{name}: expanding IN parameters cannot be prepared")
            key = None if bind.value is not None or not bind.required else bind.key
            binds.append((name, key, bind.effective_value, bind.type._cached_bind_processor(dialect)))
        result_processors = tuple(
            column.type._cached_result_processor(dialect, None) for column in compiled._result_columns
        )
        if len(result_processors) != len(self.columns):
            raise ValueError("every selected column needs its own label")
        prepared = _Compiled(compiled.string, bool(dialect.positional), tuple(binds), result_processors)
        self._by_dialect[dialect.dialect_description] = prepared
        return prepared


def _bound(params: Mapping[str, Any], key: str | None, fixed: Any, process: _Processor) -> Any:
    value = fixed if key is None else params[key]
    return value if process is None or value is None else process(value)
