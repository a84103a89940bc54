"""Test scaffolding: an in-memory ResultStream, a collector, and a table with every datatype."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from jmmctap import formats
from jmmctap.errors import JmmctapError
from jmmctap.formats import ResultInfo, Writer
from jmmctap.results import ResultColumn, Row

REQUEST_TIME = datetime(2024, 5, 6, 7, 8, 9)


class ListStream:
    """A ResultStream over rows in memory, given in batches of ``batch`` rows, optionally failing at the end."""

    def __init__(
        self,
        columns: Sequence[ResultColumn],
        rows: Sequence[Row],
        *,
        batch: int = 2,
        overflowed: bool = False,
        fail: JmmctapError | None = None,
        query: str = "SELECT * FROM t",
    ) -> None:
        self._columns = list(columns)
        self._rows = list(rows)
        self._batch = batch
        self._overflowed = overflowed
        self._fail = fail
        self._query = query
        self.closed = False
        self.batches_given = 0

    @property
    def columns(self) -> Sequence[ResultColumn]:
        return self._columns

    @property
    def overflowed(self) -> bool:
        return self._overflowed

    @property
    def query(self) -> str:
        return self._query

    @property
    def records(self) -> bool:
        return False

    async def batches(self) -> AsyncIterator[Sequence[Row]]:
        try:
            for start in range(0, len(self._rows), self._batch):
                self.batches_given += 1
                yield self._rows[start : start + self._batch]
            if self._fail is not None:
                raise self._fail
        finally:
            self.closed = True


async def collect(writer: Writer, stream: ListStream, info: ResultInfo | None = None) -> bytes:
    """The whole document ``writer`` makes of ``stream``."""
    chunks = [chunk async for chunk in writer.write(stream, info or ResultInfo(request_time=REQUEST_TIME))]
    assert all(isinstance(c, bytes) for c in chunks)
    return b"".join(chunks)


async def render(fmt: str, columns: Sequence[ResultColumn], rows: Sequence[Row], **options: Any) -> bytes:
    """The document of ``rows`` in format ``fmt``."""
    return await collect(formats.get(fmt), ListStream(columns, rows, **options))


# One column per datatype/shape the resolver can produce, and rows covering values, extremes and NULLs.
ALL_COLUMNS = [
    ResultColumn("b", "boolean", description="a boolean"),
    ResultColumn("ub", "unsignedByte"),
    ResultColumn("s", "short"),
    ResultColumn("i", "int", unit="count", ucd="meta.number"),
    ResultColumn("l", "long", ucd="meta.id;meta.main"),
    ResultColumn("f", "float", unit="mag"),
    ResultColumn("d", "double", unit="deg", ucd="pos.eq.ra", utype="obscore:Char.SpatialAxis.Coverage.Location"),
    ResultColumn("c", "char", arraysize="*", description="text <with> & \"specials\""),
    ResultColumn("c8", "char", arraysize="8"),
    ResultColumn("cb", "char", arraysize="10*"),
    ResultColumn("u", "unicodeChar", arraysize="*"),
    ResultColumn("t", "char", arraysize="*", xtype="timestamp"),
    ResultColumn("p", "double", arraysize="2", xtype="point", unit="deg"),
    ResultColumn("ci", "double", arraysize="3", xtype="circle", unit="deg"),
    ResultColumn("iv", "double", arraysize="2", xtype="interval"),
    ResultColumn("fa", "float", arraysize="3"),
    ResultColumn("ia", "int", arraysize="*"),
    ResultColumn("sa", "short", arraysize="2"),
    ResultColumn("da", "double", arraysize="*"),
]

ALL_ROWS: list[Row] = [
    (True, 0, -32767, 2147483647, 9007199254740993, 1.5, 10.123456789012345, "HD 1", "ABCDEFGH", "short",
     "Ré € ✓", datetime(2020, 1, 2, 3, 4, 5), [10.0, -20.0], [1.0, 2.0, 0.5], [0.0, math.inf],
     [1.0, 2.5, -3.0], [1, 2, 3], [4, 5], [1.0, 2.0]),
    (False, 254, 32767, -2147483647, -9223372036854775807, -0.25, -1e-300, "a & b < c > d \"q\" 'a'", "x", "",
     "日本語", datetime(1999, 12, 31, 23, 59, 59, 123000), [359.9, 89.9], [0.0, -90.0, 180.0],
     [-math.inf, 5.0], [math.nan, 0.0, 1e30], [], [-1, 0], [math.nan, math.inf, -math.inf]),
    (None, None, None, None, None, None, None, None, None, None, None, None, None, None, None, None, None, None, None),
    (True, 7, 0, 0, 0, math.nan, math.nan, "", "", "0123456789", "", datetime(2000, 2, 29, 0, 0, 0, 1),
     [0.0, 0.0], [1.0, 1.0, 1.0], [1.0, 2.0], [math.inf, -math.inf, 0.0], [7], [0, 0], []),
]
