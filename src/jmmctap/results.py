"""The values that cross from the query layer to the serializers: result columns and the row stream.

The ADQL resolver infers a ``ResultColumn`` for each SELECT item; the query layer runs the SQL and
exposes the rows as a ``ResultStream``; a ``formats`` writer turns both into bytes.

Row values are what psycopg returns for the emitted SQL: ``None``, ``bool``, ``int``, ``float``
(NaN and ±inf included), ``str``, ``datetime.datetime``/``date`` (for ``xtype="timestamp"``),
and ``list`` of numbers for arrays. Geometries never reach the writers as pgsphere values: the
ADQL emitter converts them in SQL to ``double precision[]`` in degrees (DALI point ``[ra, dec]``,
circle ``[ra, dec, radius]``, polygon ``[ra1, dec1, ra2, dec2, ...]``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["RecordBuilder", "ResultColumn", "ResultStream", "Row"]

Row = tuple[Any, ...]


@dataclass(frozen=True)
class ResultColumn:
    """Metadata of one output column, written as a VOTable FIELD (VOTable 1.4 §4)."""

    name: str
    datatype: str
    arraysize: str | None = None
    xtype: str | None = None
    unit: str | None = None
    ucd: str | None = None
    utype: str | None = None
    description: str | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False)


class ResultStream(Protocol):
    """Rows of one query, streamed in batches; ``overflowed`` is final once ``batches`` is exhausted."""

    @property
    def columns(self) -> Sequence[ResultColumn]: ...

    @property
    def overflowed(self) -> bool:
        """True only when MAXREC cut rows that the query really had (DALI 1.1 §4.4.1)."""
        ...

    @property
    def query(self) -> str:
        """The ADQL text, written as an INFO of the result."""
        ...

    @property
    def records(self) -> bool:
        """True when each row is one ``bytes`` value, the binary VOTable record PostgreSQL built for the
        writer that asked for it (``RecordBuilder``); False for rows of values."""
        ...

    def batches(self) -> AsyncIterator[Sequence[Row]]:
        """The rows, a batch at a time; raises ``jmmctap.errors.JmmctapError`` if the query fails midway."""
        ...


class RecordBuilder(Protocol):
    """A writer's offer to have the database build its records (``formats.sqlrecords``)."""

    def may_build(self, columns: Sequence[ResultColumn]) -> bool:
        """Whether the declarations allow it at all (checked before asking PostgreSQL for the result types)."""
        ...

    def records_sql(self, sql_text: str, columns: Sequence[ResultColumn], types: Sequence[int]) -> str | None:
        """``sql_text`` rewritten to return one record per row, given its PostgreSQL result types (OIDs); or None."""
        ...
