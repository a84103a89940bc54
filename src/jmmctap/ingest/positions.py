"""Main position columns: detection, sexagesimal → degrees, and the pgsphere GiST index.

The main RA/Dec pair is found by UCD first (``pos.eq.ra;meta.main``, UCD1 ``POS_EQ_RA_MAIN``), then
by common names (RAJ2000, ra, s_ra...). Sexagesimal string columns (units ``h:m:s``, ``"h:m:s"``,
``d:m:s``...) get decimal-degree companions ``<name>_deg`` computed while streaming. The index is on
exactly ``spoint(radians("ra"), radians("dec"))``, the expression the ADQL engine emits.

The degree columns of the pair carry CHECK constraints (RA within [0, 360], Dec within [-90, 90]),
named after the column, so COPY refuses an impossible position at its row (``loader.copy_error``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from psycopg import sql

from jmmctap.ingest.columns import MappedColumn, map_fields
from jmmctap.ingest.model import FieldSpec, IngestError, Row
from jmmctap.ingest.values import CellError

__all__ = [
    "POSITION_RANGES",
    "Positions",
    "checked_angle",
    "find_positions",
    "index_statement",
    "parse_sexagesimal",
    "range_statement",
]

RA_NAMES = ("raj2000", "ra", "s_ra", "ra_icrs", "radeg", "_raj2000", "ra_deg", "ra_j2000", "ra2000", "alpha")
"""Column names taken as right ascension when no UCD says so, in order of preference."""
DEC_NAMES = ("dej2000", "decj2000", "dec", "s_dec", "de_icrs", "dec_icrs", "dedeg", "_dej2000", "dec_deg",
             "dec_j2000", "de2000", "delta")
"""Column names taken as declination when no UCD says so, in order of preference."""

POSITION_RANGES = {"ra": (0.0, 360.0), "dec": (-90.0, 90.0)}
"""Degrees a main right ascension and declination must lie within (CHECK constraints of ingested tables)."""

_SEXAGESIMAL_UNITS = {"h:m:s", '"h:m:s"', "d:m:s", '"d:m:s"', "hms", "dms", "hh:mm:ss", "dd:mm:ss",
                      "hh:mm:ss.tt", "dd:mm:ss.tt", "h m s", "d m s", '"dd:mm:ss"', '"hh:mm:ss"'}
_DEGREE_UNITS = {None, "", "deg", "degree", "degrees", "DEG"}
_SEPARATORS = re.compile(r"[\s:hdmsHDMS°'\"]+")


@dataclass(frozen=True)
class Positions:
    """The columns to create (derived ones appended) and which pair gets the spatial index."""

    columns: tuple[MappedColumn, ...]
    ra: MappedColumn | None = None
    dec: MappedColumn | None = None
    derived: tuple[tuple[int, bool], ...] = ()
    """For each appended column: (source column index, is right ascension)."""

    def extend_row(self, row: Row) -> Row:
        """Append the decimal-degree values of the derived columns to a source row."""
        for index, is_ra in self.derived:
            row.append(parse_sexagesimal(row[index], hours=is_ra))
        return row

    @property
    def row_transform(self) -> Callable[[Row], Row] | None:
        return self.extend_row if self.derived else None


def parse_sexagesimal(value: object, *, hours: bool) -> float | None:
    """``"03 47 29.07"`` → degrees (×15 for hours); ``"-00 30 00"`` keeps its sign; NULL stays NULL."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    negative = text.startswith("-")
    parts = [p for p in _SEPARATORS.split(text.lstrip("+-")) if p]
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise CellError(f"{text!r} is not a sexagesimal angle") from None
    if not 1 <= len(numbers) <= 3:
        raise CellError(f"{text!r} is not a sexagesimal angle")
    degrees: float = sum(n / 60.0**i for i, n in enumerate(numbers))
    degrees *= 15 if hours and len(numbers) > 1 else 1
    return -degrees if negative else degrees


def checked_angle(value: object, *, hours: bool, file: Path, row: int, column: str) -> float:
    """RA (``hours``: sexagesimal hours) or Dec in degrees, in range; a catalogue row needs one.

    Raises
    ------
    IngestError
        Unreadable, NULL, NaN or out of range (file, row and column named).
    """
    try:
        degrees = parse_sexagesimal(value, hours=hours)
    except CellError:
        raise IngestError(f"unreadable angle {value!r}", file=file, row=row, column=column) from None
    low, high = (0.0, 360.0) if hours else (-90.0, 90.0)
    if degrees is None or not low <= degrees <= high:  # NaN fails too
        raise IngestError(f"no valid position ({value!r})", file=file, row=row, column=column)
    return degrees


def find_positions(table_name: str, columns: Sequence[MappedColumn]) -> Positions:
    """Detect the main RA/Dec pair; add degree columns for sexagesimal ones; mark them indexed."""
    pair = _by_ucd(columns) or _by_name(columns)
    if pair is None:
        return Positions(tuple(columns))
    ra, dec = pair
    all_columns = list(columns)
    derived: list[tuple[int, bool]] = []
    if _is_sexagesimal(ra.field) or _is_sexagesimal(dec.field):
        specs = [_degree_field(ra.field, "ra"), _degree_field(dec.field, "dec")]
        extra = map_fields(table_name, [c.field for c in columns] + specs)[len(columns):]
        all_columns.extend(extra)
        derived = [(all_columns.index(ra), True), (all_columns.index(dec), False)]
        ra, dec = extra
    elif not (_is_degrees(ra.field) and _is_degrees(dec.field)):
        return Positions(tuple(columns))
    indexed = [replace(c, column=replace(c.column, indexed=True)) if c in (ra, dec) else c for c in all_columns]
    ra_i, dec_i = all_columns.index(ra), all_columns.index(dec)
    return Positions(tuple(indexed), indexed[ra_i], indexed[dec_i], tuple(derived))


def index_statement(schema: str, table: str, positions: Positions) -> sql.Composed | None:
    """``CREATE INDEX ... USING gist (spoint(radians("ra"), radians("dec")))`` or None without positions."""
    if positions.ra is None or positions.dec is None:
        return None
    return sql.SQL("CREATE INDEX ON {} USING gist (spoint(radians({}), radians({})))").format(
        sql.Identifier(schema, table), sql.Identifier(positions.ra.name.db), sql.Identifier(positions.dec.name.db)
    )


def range_statement(schema: str, table: str, positions: Positions) -> sql.Composed | None:
    """``ALTER TABLE ... ADD CONSTRAINT "<ra>" CHECK ("<ra>" BETWEEN 0 AND 360), ...`` or None without positions.

    Each constraint has its column's name, which is how a violation is reported with the column.
    """
    if positions.ra is None or positions.dec is None:
        return None
    checks = [
        sql.SQL("ADD CONSTRAINT {} CHECK ({} BETWEEN {} AND {})").format(
            sql.Identifier(column.name.db), sql.Identifier(column.name.db), sql.Literal(low), sql.Literal(high))
        for column, (low, high) in ((positions.ra, POSITION_RANGES["ra"]), (positions.dec, POSITION_RANGES["dec"]))
    ]
    return sql.SQL("ALTER TABLE {} ").format(sql.Identifier(schema, table)) + sql.SQL(", ").join(checks)


def _words(ucd: str | None) -> set[str]:
    return {w.strip().lower() for w in (ucd or "").split(";") if w.strip()}


def _by_ucd(columns: Sequence[MappedColumn]) -> tuple[MappedColumn, MappedColumn] | None:
    def find(word: str, ucd1: str) -> MappedColumn | None:
        for c in columns:
            words = _words(c.field.ucd)
            if (word in words and "meta.main" in words) or (c.field.ucd or "").upper() == ucd1:
                return c
        return None
    ra, dec = find("pos.eq.ra", "POS_EQ_RA_MAIN"), find("pos.eq.dec", "POS_EQ_DEC_MAIN")
    return (ra, dec) if ra is not None and dec is not None else None


def _by_name(columns: Sequence[MappedColumn]) -> tuple[MappedColumn, MappedColumn] | None:
    by_name = {c.field.name.lower(): c for c in reversed(columns)}
    ra = next((by_name[n] for n in RA_NAMES if n in by_name), None)
    dec = next((by_name[n] for n in DEC_NAMES if n in by_name), None)
    return (ra, dec) if ra is not None and dec is not None else None


def _is_sexagesimal(field: FieldSpec) -> bool:
    return field.datatype in ("char", "unicodeChar") and (
        (field.unit or "").strip().lower() in _SEXAGESIMAL_UNITS
        or bool(_words(field.ucd) & {"pos.eq.ra", "pos.eq.dec"})
        or (field.ucd or "").upper().startswith("POS_EQ_")
    )


def _is_degrees(field: FieldSpec) -> bool:
    return field.datatype in ("float", "double") and field.arraysize is None and field.unit in _DEGREE_UNITS


def _degree_field(source: FieldSpec, axis: str) -> FieldSpec:
    ucd = "pos.eq.ra;meta.main" if axis == "ra" else "pos.eq.dec;meta.main"
    what = "Right ascension" if axis == "ra" else "Declination"
    return FieldSpec(
        name=f"{source.name}_deg", datatype="double", unit="deg", ucd=ucd,
        description=f"{what} in decimal degrees, computed by jmmctap from the sexagesimal column {source.name}",
    )
