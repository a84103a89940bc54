"""BINARY and BINARY2 records built by PostgreSQL: each result row fetched as one ``bytea``, already a record.

PostgreSQL's binary send functions (``int8send``, ``float8send``, …) write exactly the big-endian
layouts of VOTable's binary serializations (VOTable 1.4 §5.3–5.4), so for the common column types the
database can build every record itself: the client then fetches one ``bytes`` object per row and
base64-encodes their concatenation, with no Python object per value. Fetching and encoding
``bench.exposures`` this way costs about what the psycopg fetch alone costs (bench/README, issue 14),
where decoding rows into Python objects and encoding them column-wise in numpy cost twice that.

The records are byte for byte what :mod:`jmmctap.formats.records` writes for the same values (a test
compares both on every supported type): NULL cells filled with ``records.NULL_FILL``, ``?`` or
blanks, ``char`` as ASCII with ``?`` for other characters, DALI timestamps as ``cells.format_timestamp``
writes them, fixed arrays padded or cut to their size, BINARY2's null flags first (MSB = first column).

The SQL depends on the PostgreSQL types of the result, read before execution by describing the
query prepared as libpq's unnamed statement (parse analysis only, no plan: ``query``). Only exact or
widening conversions are built here; a result with any other column (variable arrays, ``unicodeChar``,
``bit``, complex numbers, ``unsignedByte``, ``numeric`` where a float would round twice, types with no
DALI text here…) returns ``None`` and goes through the numpy encoder, which handles everything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from psycopg.postgres import types as builtin_types

from jmmctap.formats.cells import is_array
from jmmctap.results import ResultColumn, Row

__all__ = ["MAX_FIXED_ITEMS", "TIME_TEXT", "SqlRecords", "built_records", "candidate", "records_select", "type_names",
           "wrap"]

MAX_FIXED_ITEMS = 64
"""Largest fixed array built element by element in SQL (one send call per element); larger ones use numpy."""

_INT_TYPES = {"short": ("int2",), "int": ("int2", "int4"), "long": ("int2", "int4", "int8")}
_SEND = {"short": ("int2send", "int2"), "int": ("int4send", "int4"), "long": ("int8send", "int8"),
         "float": ("float4send", "float4"), "double": ("float8send", "float8")}
_FLOAT_TYPES = {"float": ("float4",), "double": ("float4", "float8", "int2", "int4", "int8", "numeric")}
"""PostgreSQL types whose values convert to the declared float exactly as psycopg + numpy convert them
(``numeric`` → ``double``: both round its decimal text once; ``numeric`` → ``float`` would round twice in Python)."""
_ITEM_SIZE = {"short": 2, "int": 4, "long": 8, "float": 4, "double": 8}
_FILL_BYTES = {"short": "8000", "int": "80000000", "long": "8000000000000000", "float": "7fc00000",
               "double": "7ff8000000000000"}
"""``records.NULL_FILL`` of each datatype as big-endian bytes (numpy's NaN is the quiet NaN PostgreSQL writes)."""
_TEXT_TYPES = ("text", "varchar")
"""String types sent as they are (``bpchar`` is not: psycopg keeps its padding, ``::text`` drops it)."""
_DIGITS = re.compile(r"[0-9]+")

Cell = Callable[[str], str]
"""SQL of one column's bytes from the SQL of its value."""


@dataclass(frozen=True)
class SqlRecords:
    """The ``results.RecordBuilder`` of BINARY2 (``null_flags``) or BINARY records."""

    null_flags: bool

    def may_build(self, columns: Sequence[ResultColumn]) -> bool:
        """Every column's declaration is one this module may build."""
        return all(map(candidate, columns))

    def records_sql(self, sql_text: str, columns: Sequence[ResultColumn], types: Sequence[int]) -> str | None:
        """``sql_text`` returning records, or None when a column's PostgreSQL type (by OID) is not built here."""
        select = records_select(columns, type_names(types), null_flags=self.null_flags)
        return None if select is None else wrap(sql_text, len(columns), select)


def built_records(rows: Sequence[Row]) -> bytes:
    """Rows that PostgreSQL built (here or in ``formats.sqltext``): one ``bytes`` value per row, concatenated."""
    return b"".join([row[0] for row in rows])


def type_names(oids: Sequence[int]) -> list[str]:
    """Internal names of PostgreSQL's built-in types (``int4``, ``float4[]``); ``?`` for any other type."""
    names = []
    for oid in oids:
        info = builtin_types.get(oid)
        names.append("?" if info is None else info.name + ("[]" if oid == info.array_oid else ""))
    return names


def candidate(column: ResultColumn) -> bool:
    """Whether ``column``'s declaration may have SQL records (its PostgreSQL type decides in the end)."""
    datatype, arraysize = column.datatype, column.arraysize
    if datatype == "char":
        return arraysize is None or arraysize == "*" or _DIGITS.fullmatch(arraysize.rstrip("*")) is not None
    if datatype == "boolean":
        return not is_array(column)
    if datatype in _SEND:
        if not is_array(column):
            return True
        return arraysize is not None and _DIGITS.fullmatch(arraysize) is not None and int(arraysize) <= MAX_FIXED_ITEMS
    return False


def records_select(columns: Sequence[ResultColumn], types: Sequence[str], *, null_flags: bool) -> str | None:
    """The SQL expression of a row's record over ``q.c0, q.c1, …`` (see ``wrap``), or None if a column cannot be built.

    ``types`` are the PostgreSQL result types by internal name (``float4[]``, ``varchar``…; ``type_names``).
    """
    if len(types) != len(columns):
        return None
    parts: list[str] = []
    for index, (column, pg_type) in enumerate(zip(columns, types, strict=True)):
        cell = _cell(column, pg_type) if candidate(column) else None
        if cell is None:
            return None
        parts.append(cell(f"q.c{index}"))
    if null_flags:
        parts[:0] = _flags(len(columns))
    return " || ".join(parts)


def wrap(sql_text: str, count: int, select: str) -> str:
    """``sql_text`` with each row turned into its record by ``select`` (positional aliases: names may repeat)."""
    names = ", ".join(f"c{i}" for i in range(count))
    return f"SELECT {select} FROM ({sql_text}) AS q({names})"


def _cell(column: ResultColumn, pg_type: str) -> Cell | None:
    datatype = column.datatype
    if datatype == "char":
        return _string_cell(column.arraysize, pg_type)
    if datatype == "boolean":
        if pg_type != "bool":
            return None
        return lambda v: f"(CASE WHEN {v} THEN '\\x54'::bytea WHEN NOT {v} THEN '\\x46'::bytea ELSE '\\x3f'::bytea END)"
    if is_array(column):
        assert column.arraysize is not None  # candidate(): a fixed size
        return _fixed_array_cell(datatype, int(column.arraysize), pg_type)
    return _number_cell(datatype, pg_type)


def _allowed(datatype: str) -> tuple[str, ...]:
    return _INT_TYPES.get(datatype) or _FLOAT_TYPES.get(datatype, ())


def _number_cell(datatype: str, pg_type: str) -> Cell | None:
    if pg_type not in _allowed(datatype):
        return None
    send, cast = _SEND[datatype]
    fill = f"'\\x{_FILL_BYTES[datatype]}'::bytea"
    return lambda v: f"coalesce({send}({v}::{cast}), {fill})"


def _fixed_array_cell(datatype: str, count: int, pg_type: str) -> Cell | None:
    if not pg_type.endswith("[]") or pg_type[:-2] not in _allowed(datatype) or pg_type == "numeric[]":
        return None
    send, cast = _SEND[datatype]
    fill = _FILL_BYTES[datatype]
    size = _ITEM_SIZE[datatype]

    def cell(v: str) -> str:
        fast = " || ".join(f"coalesce({send}({v}[{k}]::{cast}), '\\x{fill}'::bytea)" for k in range(1, count + 1))
        # numpy flattens nested arrays and ignores lower bounds: unnest does the same (rare, so not the fast path)
        items = f"(SELECT string_agg(coalesce({send}(e::{cast}), '\\x{fill}'::bytea), ''::bytea) FROM unnest({v}) AS e)"
        general = f"substring(coalesce({items}, ''::bytea) || '\\x{fill * count}'::bytea FROM 1 FOR {count * size})"
        return f"(CASE WHEN array_ndims({v}) > 1 OR array_lower({v}, 1) <> 1 THEN {general} ELSE {fast} END)"

    return cell


def _string_cell(arraysize: str | None, pg_type: str) -> Cell | None:
    if pg_type in _TEXT_TYPES:
        text: Callable[[str], str] = _ascii
    elif pg_type in TIME_TEXT:
        text = TIME_TEXT[pg_type]
    else:
        return None
    if arraysize is None or _DIGITS.fullmatch(arraysize):
        width = int(arraysize or "1")  # fixed: cut or NUL-padded (§6), as records._fixed_strings
        return lambda v: (f"substring(convert_to(coalesce({text(v)}, ''), 'UTF8') || '\\x{'00' * width}'::bytea"
                          f" FROM 1 FOR {width})")
    bound = arraysize[:-1]

    def variable(v: str) -> str:
        value = f"coalesce({text(v)}, '')"
        if bound:
            value = f"left({value}, {int(bound)})"
        # written twice, evaluated twice: still cheaper than a sub-select per row; ASCII, so textsend's bytes
        general = f"(int4send(octet_length({value})) || textsend({value}))"
        if bound or text is not _ascii:
            return general
        # the common case first, each function once: NULL, then ASCII text as it is
        return (f"(CASE WHEN {v} IS NULL THEN '\\x00000000'::bytea WHEN octet_length({v}) = char_length({v})"
                f" THEN int4send(octet_length({v})) || textsend({v}) ELSE {general} END)")

    return variable


def _ascii(v: str) -> str:
    """The text as ASCII, one ``?`` per other character (``str.encode('ascii', 'replace')``)."""
    return (f"(CASE WHEN octet_length({v}) = char_length({v}) THEN {v}::text"
            f" ELSE regexp_replace({v}, '[^\\x01-\\x7F]', '?', 'g') END)")


def _timestamp(v: str) -> str:
    """``cells.format_timestamp``: seconds, then milliseconds or microseconds only when there are some."""
    fraction = f"(date_part('microseconds', {v})::int8 % 1000000)"
    return (f"(to_char({v}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN {fraction} = 0 THEN ''"
            f" WHEN {fraction} % 1000 = 0 THEN to_char({v}, '.MS') ELSE to_char({v}, '.US') END)")


def _utc_timestamp(v: str) -> str:
    return _timestamp(f"({v} AT TIME ZONE 'UTC')")


def _date(v: str) -> str:
    return f"to_char({v}, 'YYYY-MM-DD')"


TIME_TEXT: dict[str, Callable[[str], str]] = {"timestamp": _timestamp, "timestamptz": _utc_timestamp, "date": _date}
"""SQL of the DALI text of a value of these PostgreSQL types, as ``cells.to_text`` writes it (``sqltext`` too)."""


def _flags(count: int) -> list[str]:
    """BINARY2's null flags of ``count`` columns: one ``int8send`` per 56 columns, cut to whole bytes."""
    parts = []
    for first in range(0, count, 56):
        group = range(first, min(first + 56, count))
        nbytes = (len(group) + 7) // 8
        bits = " | ".join(f"(CASE WHEN q.c{i} IS NULL THEN {1 << (8 * nbytes - 1 - (i - first))}::int8"
                          f" ELSE 0::int8 END)" for i in group)
        parts.append(f"substring(int8send({bits}) FROM {9 - nbytes} FOR {nbytes})")
    return parts
