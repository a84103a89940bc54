"""CSV and TSV results (TAP 1.1 §3.2): a header line of column names, then one line per row, UTF-8.

- CSV (RFC 4180): CRLF line ends; a cell is quoted when it holds a comma, a quote or a line break;
  NULL is an empty cell and an empty string is ``""``, so the two stay distinct.
- TSV: LF line ends; TAB, LF, CR and backslash inside values are written ``\\t``, ``\\n``, ``\\r``,
  ``\\\\`` (the PostgreSQL ``COPY`` convention), since TSV cannot quote.

When every column has an SQL form, PostgreSQL writes each line itself (:mod:`jmmctap.formats.sqltext`,
byte for byte the lines written here from values).

Neither format has a status channel (TAP §3.4). MAXREC overflow is not marked (the row count equals
MAXREC). A failure after the first byte ends the document with one last line holding a single cell
``QUERY_STATUS=ERROR: <message>``: strict readers then fail on the short row, lenient ones show it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass

from jmmctap.formats.cells import CellConverter, compile_cells, is_array
from jmmctap.formats.sqlrecords import built_records
from jmmctap.formats.sqltext import CSV_LINES, TSV_LINES, SqlText
from jmmctap.formats.writer import Ending, ResultInfo, encode_stream
from jmmctap.results import ResultColumn, ResultStream, Row

__all__ = ["CsvWriter", "DelimitedWriter", "TsvWriter"]

_CSV_SPECIAL = frozenset(',"\r\n')
_TSV_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _csv_cell(text: str) -> str:
    if _CSV_SPECIAL.isdisjoint(text):
        return text
    return '"' + text.replace('"', '""') + '"'


def _csv_strings(cells: list[str], values: Sequence[object]) -> list[str]:
    if "" not in cells and _CSV_SPECIAL.isdisjoint("".join(cells)):
        return cells
    # an empty string is quoted, so that only NULL is an empty cell
    return [_csv_cell(c) if c else ("" if v is None else '""') for c, v in zip(cells, values, strict=True)]


def _tsv_strings(cells: list[str], values: Sequence[object]) -> list[str]:
    joined = "".join(cells)
    if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
        return [c.translate(_TSV_ESCAPES) for c in cells]
    return cells


@dataclass(frozen=True)
class _Dialect:
    separator: str
    line_end: str
    header_cell: Callable[[str], str]
    strings: Callable[[list[str], Sequence[object]], list[str]]


_CSV = _Dialect(",", "\r\n", _csv_cell, _csv_strings)
_TSV = _Dialect("\t", "\n", lambda name: name.translate(_TSV_ESCAPES), _tsv_strings)


class DelimitedWriter:
    """CSV or TSV; PostgreSQL builds the lines when it can (``builder``, ``formats.sqltext``)."""

    media_type: str
    dialect: _Dialect
    builder: SqlText

    def check(self, columns: Sequence[ResultColumn]) -> None:
        """Nothing to refuse: every value has a text form."""

    def write(self, stream: ResultStream, info: ResultInfo) -> AsyncIterator[bytes]:
        """Header line, rows, and on failure a last ``QUERY_STATUS=ERROR`` line (see the module docstring)."""
        columns = list(stream.columns)
        encode = built_records if stream.records else self.encoder(columns)
        return self._generate(columns, encode_stream(stream, encode))

    def encoder(self, columns: Sequence[ResultColumn]) -> Callable[[Sequence[Row]], bytes]:
        """The lines of a batch of rows of values (the text ``builder``'s lines equal them)."""
        dialect = self.dialect
        converters: list[CellConverter] = [compile_cells(c) for c in columns]
        textual = [c.datatype in ("char", "unicodeChar") and not is_array(c) for c in columns]
        template = dialect.separator.join("{}" for _ in columns) + dialect.line_end

        def encode(rows: Sequence[Row]) -> bytes:
            cells = []
            for convert, is_text, values in zip(converters, textual, zip(*rows, strict=True), strict=True):
                texts = convert(values)
                cells.append(dialect.strings(texts, values) if is_text else texts)
            return "".join(map(template.format, *cells)).encode()

        return encode

    async def _generate(self, columns: Sequence[ResultColumn],
                        encoded: AsyncGenerator[bytes | Ending, None]) -> AsyncIterator[bytes]:
        dialect = self.dialect
        header = dialect.separator.join(dialect.header_cell(c.name) for c in columns) + dialect.line_end
        yield header.encode()
        async with aclosing(encoded) as chunks:
            async for chunk in chunks:
                if not isinstance(chunk, Ending):
                    yield chunk
                elif chunk.status == "ERROR":
                    yield (dialect.header_cell(f"QUERY_STATUS=ERROR: {chunk.message}") + dialect.line_end).encode()


@dataclass(frozen=True)
class CsvWriter(DelimitedWriter):
    """CSV with a header line (``text/csv;header=present``)."""

    media_type: str = "text/csv;header=present"
    dialect: _Dialect = _CSV
    builder: SqlText = CSV_LINES


@dataclass(frozen=True)
class TsvWriter(DelimitedWriter):
    """Tab-separated values with a header line."""

    media_type: str = "text/tab-separated-values"
    dialect: _Dialect = _TSV
    builder: SqlText = TSV_LINES
