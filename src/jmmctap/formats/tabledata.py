"""VOTable TABLEDATA rows (VOTable 1.4 §5.1): ``<TR><TD>…</TD></TR>``, NULL as an empty ``<TD></TD>``.

When every column has an SQL form, PostgreSQL writes each ``<TR>`` itself (:mod:`jmmctap.formats.sqltext`)
and the rows are only concatenated here. Otherwise cells come from :mod:`jmmctap.formats.cells`; a string
column is escaped only when one of its values holds an XML special or a character XML 1.0 forbids. Each
batch becomes one ASCII chunk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jmmctap.formats.cells import CellConverter, array_null, compile_cells
from jmmctap.formats.sqlrecords import built_records
from jmmctap.formats.sqltext import TABLEDATA_ROWS
from jmmctap.formats.xmltext import escape_text, needs_escape, to_ascii
from jmmctap.results import ResultColumn, Row

__all__ = ["TABLEDATA", "Tabledata"]


@dataclass(frozen=True)
class _TabledataBody:
    converters: tuple[CellConverter, ...]
    row_template: str

    def encode(self, rows: Sequence[Row]) -> bytes:
        columns = zip(*rows, strict=True)
        cells = [_escaped(convert(values)) for convert, values in zip(self.converters, columns, strict=True)]
        return to_ascii("".join(map(self.row_template.format, *cells)))

    def finish(self) -> bytes:
        return b""


def _escaped(cells: list[str]) -> list[str]:
    if needs_escape("".join(cells)):
        return [escape_text(c) if needs_escape(c) else c for c in cells]
    return cells


class _BuiltRows:
    """Rows that PostgreSQL built (``formats.sqltext``): ASCII already, only concatenated."""

    def encode(self, rows: Sequence[Row]) -> bytes:
        return built_records(rows)

    def finish(self) -> bytes:
        return b""


class Tabledata:
    """The TABLEDATA serialization."""

    element = "TABLEDATA"
    builder = TABLEDATA_ROWS
    """PostgreSQL builds the rows when it can (``formats.sqltext``); the cells here otherwise."""

    def start(self, columns: Sequence[ResultColumn], *, built: bool = False) -> _TabledataBody | _BuiltRows:
        """A body encoder for these columns (``built``: of ``<TR>`` rows PostgreSQL built)."""
        if built:
            return _BuiltRows()
        template = "<TR>" + "".join("<TD>{}</TD>" for _ in columns) + "</TR>\n"
        return _TabledataBody(tuple(compile_cells(c, blank_fixed_arrays=True) for c in columns), template)

    def declare(self, column: ResultColumn) -> ResultColumn:
        """TABLEDATA declares every column as published."""
        return column

    def field_content(self, column: ResultColumn) -> str:
        """``<VALUES null="…"/>`` for integer arrays (NULL elements); empty cells are NULL since VOTable 1.3."""
        null = array_null(column)
        return "" if null is None else f'<VALUES null="{null}"/>'


TABLEDATA = Tabledata()
"""The TABLEDATA serialization instance."""
