"""VizieR II/346 (JSDC v2) tables → ``jsdc.jsdc_v2`` rows: which FIELD feeds which column.

VizieR writes the catalogue's labels (``Name``, ``RAJ2000``…, ``LDD``, ``CalFlag``, ``UDDB``…)
with sexagesimal positions, or decimal degrees in its TAP service and in the ``_RAJ2000`` columns
it computes on request; extra columns (``Simbad``, ``_r``) are ignored. Labels match whatever
their case. Rows stay as the votable2tap reader gives them except the position, made degrees.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from jmmctap.catalogues.jsdc import column_names
from jmmctap.ingest import IngestError
from jmmctap.ingest.model import FieldSpec, Row
from jmmctap.ingest.positions import checked_angle

__all__ = ["VizierPlan", "no_recno_error"]

_REQUIRED = ("Name", "LDD", "e_LDD")
_NUMBERS = frozenset({"unsignedByte", "short", "int", "long", "float", "double"})
_BINARY_FITS = {
    "text": frozenset({"char", "unicodeChar"}),
    "double precision": _NUMBERS,
    "smallint": frozenset({"unsignedByte", "short"}),
    "bigint": frozenset({"unsignedByte", "short", "int", "long"}),
}
"""Column type → source datatypes whose values a binary COPY takes as they are."""
_POSITIONS = (("RAJ2000", "DEJ2000"), ("_RAJ2000", "_DEJ2000"))
"""VizieR's catalogue position columns, then the decimal-degree ones it computes on request."""


@dataclass(frozen=True)
class VizierPlan:
    """How the FIELDs of a VizieR II/346 table map to ``jsdc.jsdc_v2`` columns."""

    path: Path
    fields: tuple[str, ...]
    """Datatype of each source field."""
    columns: tuple[str, ...]
    """Target columns: recno, RAJ2000, DEJ2000, then the other columns the file has (Name first)."""
    sources: tuple[int, ...]
    """Source field index of each column after recno and the position."""
    recno_index: int | None
    first_recno: int
    """Record number of the first row when the file has no recno column (``recno_index`` None)."""
    ra: tuple[int, str]
    dec: tuple[int, str]
    """(source field index, name) of the position columns: sexagesimal text or degrees."""

    @classmethod
    def of(cls, path: Path, fields: Sequence[FieldSpec], first_recno: int | None) -> VizierPlan:
        by_name = {f.name.lower(): i for i, f in enumerate(fields)}
        pair = next(((by_name[ra.lower()], by_name[dec.lower()]) for ra, dec in _POSITIONS
                     if ra.lower() in by_name and dec.lower() in by_name), None)
        missing = [name for name in _REQUIRED if name.lower() not in by_name]
        missing += [] if pair else ["RAJ2000, DEJ2000"]
        if missing or pair is None:
            raise IngestError("not a JSDC table: neither a SearchCal/GetStar VOTable (no diam_chi2 column) nor"
                              f" VizieR II/346 (missing {', '.join(missing)})", file=path)
        recno_index = by_name.get("recno")
        if recno_index is None and first_recno is None:
            raise no_recno_error(path)
        others = [c for c in column_names() if c not in ("recno", "RAJ2000", "DEJ2000")
                  and c.lower() in by_name and not c.endswith(("_origin", "_confidence"))]
        ra, dec = pair
        return cls(path, tuple(f.datatype for f in fields), ("recno", "RAJ2000", "DEJ2000", *others),
                   tuple(by_name[c.lower()] for c in others), recno_index, first_recno or 0,
                   (ra, fields[ra].name), (dec, fields[dec].name))

    def binary_types(self, column_types: dict[str, str]) -> list[str] | None:
        """The column types for a binary COPY, or None when a source datatype does not fit its column."""
        sources = [*(("long",) if self.recno_index is None else (self.fields[self.recno_index],)), "double", "double",
                   *(self.fields[i] for i in self.sources)]
        types = [column_types[c] for c in self.columns]
        fits = all(source in _BINARY_FITS.get(target, ()) for source, target in zip(sources, types, strict=True))
        return types if fits else None

    def rows(self, source_rows: Iterable[Row]) -> Iterator[Row]:
        """The staging rows: recno, degrees, then the other values as the reader gave them."""
        for number, row in enumerate(source_rows, start=1):
            recno = row[self.recno_index] if self.recno_index is not None else self.first_recno + number - 1
            (ra, ra_name), (dec, dec_name) = self.ra, self.dec
            yield [recno, checked_angle(row[ra], hours=True, file=self.path, row=number, column=ra_name),
                   checked_angle(row[dec], hours=False, file=self.path, row=number, column=dec_name),
                   *(row[i] for i in self.sources)]


def no_recno_error(path: Path) -> IngestError:
    """The error for a file without recno loaded without a first record number."""
    return IngestError("the file has no recno column: give the record number of its first row (--first-recno)",
                       file=path)
