"""CSV, TSV and TABLEDATA rows built by PostgreSQL: each line (or ``<TR>``) fetched as one ``bytea``.

The text formats spent most of a download in Python: decoding every value into an object, transposing
rows to columns, formatting and escaping cells, assembling lines (bench/README, issue 14). PostgreSQL's
own output functions are C (``float8out`` is Ryu, shortest round trip, as our writers), so for the common
column types the query is wrapped to return each row as its finished line, and the client only
concatenates them. Any other column (see :func:`candidate` and the PostgreSQL types accepted per
datatype) leaves the whole result to :mod:`jmmctap.formats.cells`, whose text these lines equal byte for
byte (a test compares both on edge values):

- **Floats** are spelled as ``floattext`` spells them (orjson: ``1.0``, ``0.00001``, ``1e-7``, ``1e+16``,
  float32 fixed up to ``1e13``). PostgreSQL switches to exponents at other magnitudes (``1e-05``,
  ``1e+06`` for a real), so the rare values between the two thresholds are rewritten through ``numeric``
  (exact: it parses the shortest decimal), and ``e-0`` loses its zero.
- **Float arrays** are ``array_to_string`` when no element has an exponent or is non-finite (one C call
  and one regular-expression test per array); otherwise element by element as above. Their integral
  elements have no ``.0`` (``floattext.array_cells``): a type hint that only scalar CSV cells need.
- **Strings** are escaped for the format in SQL only when they hold a special character: CSV quoting,
  TSV's backslash escapes, XML's entities, character references for non-ASCII characters and U+FFFD for
  characters XML 1.0 forbids (one character at a time, rare).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from jmmctap.formats.cells import INTEGER_NULLS, blank_array, has_items, is_array
from jmmctap.formats.sqlrecords import TIME_TEXT, type_names, wrap
from jmmctap.results import ResultColumn

__all__ = ["CSV_LINES", "TABLEDATA_ROWS", "TSV_LINES", "SqlText", "candidate"]

Cell = Callable[[str], str]
"""SQL of one column's text cell from the SQL of its value (never NULL: lines are concatenations)."""

_INTEGERS = {"unsignedByte": ("int2",), "short": ("int2",), "int": ("int2", "int4"),
             "long": ("int2", "int4", "int8")}
_FLOATS = {"float": ("float4",), "double": ("float4", "float8", "int2", "int4", "int8", "numeric")}
"""PostgreSQL types converted to the declared float exactly as psycopg + numpy convert them (``sqlrecords``)."""
_STRINGS = ("text", "varchar")


@dataclass(frozen=True)
class _Range:
    """Magnitudes where PostgreSQL writes a float in fixed notation (``[low, high)``), and where orjson does."""

    cast: str
    pg_low: str
    pg_high: str
    orjson_low: str
    orjson_high: str


_DOUBLE = _Range("float8", "1e-4", "1e15", "1e-5", "1e16")
_SINGLE = _Range("float4", "'1e-4'::float4", "'1e6'::float4", "'1e-6'::float4", "'1e13'::float4")
"""float32 bounds as float32 values: the float32 nearest 1e-6 is below the double 1e-6 but prints as ``1e-06``."""


def _float_text(v: str, r: _Range, *, point: bool, null: str) -> str:
    """``v`` (of type ``r.cast``) spelled as orjson spells it, with ``.0`` on integral values if ``point``."""
    fixed = f"({v})::text::numeric::text"  # exact: numeric parses PostgreSQL's shortest digits
    if point:
        fixed = f"(CASE WHEN strpos({fixed}, '.') = 0 THEN {fixed} || '.0' ELSE {fixed} END)"
        integral = f"WHEN {v} = trunc({v}) AND abs({v}) < {r.pg_high} THEN {v}::text || '.0'"
    else:
        integral = f"WHEN {v} = 0 THEN {v}::text"
    return (f"(CASE WHEN {v} IS NULL THEN '{null}' {integral}"
            f" WHEN abs({v}) >= {r.pg_low} AND abs({v}) < {r.pg_high} THEN {v}::text"
            f" WHEN {v} = 'NaN'::{r.cast} THEN 'NaN' WHEN {v} = 'Infinity'::{r.cast} THEN '+Inf'"
            f" WHEN {v} = '-Infinity'::{r.cast} THEN '-Inf'"
            f" WHEN abs({v}) >= {r.orjson_low} AND abs({v}) < {r.orjson_high} THEN {fixed}"
            f" ELSE replace({v}::text, 'e-0', 'e-') END)")


def _float_array_text(v: str, r: _Range) -> str:
    """A float array's elements, space-separated (NULL elements ``NaN``; nested arrays flattened)."""
    whole = f"array_to_string({v}, ' ', 'NaN')"
    element = _float_text("u.e", r, point=False, null="NaN")
    each = f"(SELECT string_agg({element}, ' ' ORDER BY u.n) FROM unnest({v}) WITH ORDINALITY AS u(e, n))"
    return f"(CASE WHEN {whole} !~ '[eNI]' THEN {whole} ELSE coalesce({each}, '') END)"


@dataclass(frozen=True)
class _Dialect:
    """How one format writes a line: its cell separator, ends, string escaping and NULL arrays."""

    start: str
    separator: str
    end: str
    escape: Cell
    blank_fixed_arrays: bool


def _csv_string(v: str) -> str:
    """RFC 4180 quoting; an empty string is ``""`` so that only NULL is an empty cell (``delimited``)."""
    return (f"(CASE WHEN {v} IS NULL THEN '' WHEN {v} = '' THEN '\"\"'"
            f" WHEN {v} ~ '[,\"\\r\\n]' THEN '\"' || replace({v}, '\"', '\"\"') || '\"' ELSE {v} END)")


def _tsv_string(v: str) -> str:
    """PostgreSQL COPY's backslash escapes (``delimited``)."""
    escaped = f"replace(replace(replace(replace({v}, '\\', '\\\\'), E'\\t', '\\t'), E'\\n', '\\n'), E'\\r', '\\r')"
    return f"(CASE WHEN {v} IS NULL THEN '' WHEN {v} ~ '[\\\\\\t\\n\\r]' THEN {escaped} ELSE {v} END)"


_XML_CHARACTER = ("(CASE WHEN c.ch = '&' THEN '&amp;' WHEN c.ch = '<' THEN '&lt;' WHEN c.ch = '>' THEN '&gt;'"
                  " WHEN c.ch = E'\\r' THEN '&#13;'"
                  " WHEN c.ch ~ '[\\x01-\\x08\\x0b\\x0c\\x0e-\\x1f\\ufffe\\uffff]' THEN '&#65533;'"
                  " WHEN ascii(c.ch) > 127 THEN '&#' || ascii(c.ch) || ';' ELSE c.ch END)")


def _xml_string(v: str) -> str:
    """``xmltext.escape_text`` then ``to_ascii``: entities, U+FFFD for forbidden characters, references."""
    each = (f"(SELECT string_agg({_XML_CHARACTER}, '' ORDER BY c.n)"
            f" FROM unnest(string_to_array({v}, NULL)) WITH ORDINALITY AS c(ch, n))")
    return f"(CASE WHEN {v} IS NULL THEN '' WHEN {v} ~ '[&<>]|[^\\t\\n -\\x7f]' THEN {each} ELSE {v} END)"


_CSV = _Dialect("", ",", "\r\n", _csv_string, blank_fixed_arrays=False)
_TSV = _Dialect("", "\t", "\n", _tsv_string, blank_fixed_arrays=False)
_TABLEDATA = _Dialect("<TR><TD>", "</TD><TD>", "</TD></TR>\n", _xml_string, blank_fixed_arrays=True)


@dataclass(frozen=True)
class SqlText:
    """The ``results.RecordBuilder`` of one text format: each row fetched as its finished line."""

    dialect: _Dialect

    def may_build(self, columns: Sequence[ResultColumn]) -> bool:
        """Every column's declaration is one this module may build (and there is one)."""
        return bool(columns) and all(map(candidate, columns))

    def records_sql(self, sql_text: str, columns: Sequence[ResultColumn], types: Sequence[int]) -> str | None:
        """``sql_text`` returning lines, or None when a column's PostgreSQL type (by OID) is not built here."""
        names = type_names(types)
        if len(names) != len(columns):
            return None
        cells = []
        for index, (column, pg_type) in enumerate(zip(columns, names, strict=True)):
            cell = _cell(column, pg_type, self.dialect)
            if cell is None:
                return None
            cells.append(cell(f"q.c{index}"))
        d = self.dialect
        line = f" || '{d.separator}' || ".join(cells)
        return wrap(sql_text, len(columns), f"convert_to('{d.start}' || {line} || E'{_sql_escape(d.end)}', 'UTF8')")


CSV_LINES = SqlText(_CSV)
TSV_LINES = SqlText(_TSV)
TABLEDATA_ROWS = SqlText(_TABLEDATA)


def _sql_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def candidate(column: ResultColumn) -> bool:
    """Whether ``column``'s declaration may have its cells built in SQL (its PostgreSQL type decides in the end)."""
    datatype = column.datatype
    if datatype in ("char", "unicodeChar"):
        return True
    if datatype == "boolean":
        return not is_array(column)
    return datatype in _INTEGERS or datatype in _FLOATS


def _cell(column: ResultColumn, pg_type: str, dialect: _Dialect) -> Cell | None:
    datatype = column.datatype
    if not candidate(column):
        return None
    if datatype in ("char", "unicodeChar"):
        if pg_type in _STRINGS:
            return dialect.escape
        time_text = TIME_TEXT.get(pg_type)
        return None if time_text is None else (lambda v: f"coalesce({time_text(v)}, '')")
    if datatype == "boolean":
        return (lambda v: f"(CASE WHEN {v} THEN 'true' WHEN NOT {v} THEN 'false' ELSE '' END)") \
            if pg_type == "bool" else None
    if has_items(column):
        return _array_cell(column, pg_type, dialect)
    if datatype in _INTEGERS:
        return (lambda v: f"coalesce({v}::text, '')") if pg_type in _INTEGERS[datatype] else None
    if pg_type not in _FLOATS[datatype]:
        return None
    r = _DOUBLE if datatype == "double" else _SINGLE
    return lambda v: _float_text(f"{v}::{r.cast}", r, point=True, null="")


def _array_cell(column: ResultColumn, pg_type: str, dialect: _Dialect) -> Cell | None:
    datatype = column.datatype
    element = pg_type.removesuffix("[]")
    if element == pg_type:
        return None
    if datatype in _INTEGERS:
        if element not in _INTEGERS[datatype]:
            return None
        magic = INTEGER_NULLS[datatype]
        return lambda v: f"coalesce(array_to_string({v}, ' ', '{magic}'), '')"
    if element not in _FLOATS[datatype] or element == "numeric":
        return None
    r = _DOUBLE if datatype == "double" else _SINGLE
    null = blank_array(column) if dialect.blank_fixed_arrays else ""
    return lambda v: f"(CASE WHEN {v} IS NULL THEN '{null}' ELSE {_float_array_text(f'{v}::{r.cast}[]', r)} END)"

