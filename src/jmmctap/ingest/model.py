"""Values describing a source table (FIELDs, PARAMs, INFOs, GROUPs); ``IngestError`` re-exported from errors.

Readers (``votable.py``, ``fits.py``) turn a file's metadata into these frozen values; the column
mapping, the positions and the loader only ever see these, never XML or FITS headers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from jmmctap.errors import IngestError  # defined with every public error; re-exported here

__all__ = [
    "FieldSpec",
    "GroupSpec",
    "InfoSpec",
    "IngestError",
    "ReadLimits",
    "Row",
    "TableSource",
    "TableSpec",
]

Row = list[object]
"""One row in column order, values ready for COPY (str in PostgreSQL input syntax, numbers, None)."""


@dataclass(frozen=True)
class ReadLimits:
    """Bounds on one cell and one row, checked while the rows stream (untrusted files: TAP UPLOAD).

    Without them a reader accepts whatever a trusted file holds (``jmmctap ingest``); with them no cell or
    row larger than the bound is ever held in memory whole, and XML text nodes, comments and CDATA
    sections stay under libxml2's default 10 MB (no ``huge_tree``).
    """

    max_cell_bytes: int
    max_row_bytes: int

    def check_cell(self, size: int, file: Path | str, row: int, column: str) -> None:
        """Raise ``IngestError`` naming the limit when a cell of ``size`` bytes is over it."""
        if size > self.max_cell_bytes:
            raise IngestError(f"a cell is larger than the limit of {self.max_cell_bytes} bytes", file=file, row=row,
                              column=column)

    def check_row(self, size: int, file: Path | str, row: int) -> None:
        """Raise ``IngestError`` naming the limit when a row of ``size`` bytes is over it."""
        if size > self.max_row_bytes:
            raise IngestError(f"a row is larger than the limit of {self.max_row_bytes} bytes", file=file, row=row)


@dataclass(frozen=True)
class FieldSpec:
    """A VOTable FIELD (or PARAM without its value), or a FITS column described the same way."""

    name: str
    datatype: str
    arraysize: str | None = None
    unit: str | None = None
    ucd: str | None = None
    utype: str | None = None
    xtype: str | None = None
    description: str | None = None
    id: str | None = None
    ref: str | None = None
    null: str | None = None
    """VALUES/@null (or FITS TNULL): the magic value meaning NULL, as written in the file."""


@dataclass(frozen=True)
class InfoSpec:
    """A PARAM, INFO, COOSYS or TIMESYS attached to the table, its RESOURCE or the VOTABLE."""

    kind: str
    """``PARAM``, ``INFO``, ``COOSYS`` or ``TIMESYS``."""
    name: str
    value: str | None
    scope: str
    """``TABLE``, ``RESOURCE`` or ``VOTABLE``: where it was declared."""
    field: FieldSpec | None = None
    """The PARAM's metadata (datatype, unit, UCD...), None for INFO/COOSYS/TIMESYS."""
    content: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    """The PARAM's VALUES/OPTION (name, value) pairs: SearchCal's code tables (OriginIndexes)."""


@dataclass(frozen=True)
class GroupSpec:
    """A GROUP with the names of its FIELD and PARAM members, in document order."""

    name: str | None
    id: str | None = None
    ucd: str | None = None
    utype: str | None = None
    description: str | None = None
    field_refs: tuple[str, ...] = ()
    """IDs (or names, when the reference matches no ID) of the member FIELDs."""
    param_refs: tuple[str, ...] = ()
    """Names of the member PARAMs (referenced or inline)."""
    parent: str | None = None
    """Name of the enclosing GROUP when nested."""


@dataclass(frozen=True)
class TableSpec:
    """Everything known about a source table before its rows are read."""

    file: Path
    fields: tuple[FieldSpec, ...]
    name: str | None = None
    description: str | None = None
    infos: tuple[InfoSpec, ...] = ()
    groups: tuple[GroupSpec, ...] = ()
    serialization: str = "TABLEDATA"
    """``TABLEDATA``, ``BINARY``, ``BINARY2``, ``FITS`` (a FITS file) or ``EMPTY`` (no DATA)."""
    nrows_declared: int | None = None
    version: str | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False)


class TableSource(Protocol):
    """An opened table: its metadata, and its rows streamed once, in file order."""

    @property
    def spec(self) -> TableSpec: ...

    def rows(self) -> Iterator[Row]: ...
