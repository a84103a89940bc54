"""``jmmctap ingest-jsdc``: JSDC rows into ``jsdc.jsdc_v2`` from VizieR II/346 or SearchCal/GetStar files.

The real catalogue comes from VizieR (II/346/jsdc_v2 as VOTable or FITS, from its web pages or its
TAP service) with the catalogue's own column labels (``jsdc_vizier``); it is streamed through the
votable2tap readers, so its 465,877 stars load in constant memory. SearchCal and GetStar VOTables (the JSDC
pipeline's output, with an origin and a confidence per value) go through ``searchcal``, streamed too.

Either way the rows are copied into a staging table, then upserted by ``recno`` in one transaction
with the obsportal target links, the TAP_SCHEMA row count and the ingest log: readers see the old
or the new catalogue, never a mix, and a rejected file changes nothing.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from jmmctap.catalogues.jsdc import JSDC_TABLE, column_names, publish_jsdc_groups
from jmmctap.catalogues.jsdc_vizier import VizierPlan, no_recno_error
from jmmctap.catalogues.searchcal import SearchCalPlan, is_searchcal
from jmmctap.catalogues.targets import DEFAULT_RADIUS_ARCSEC, link_targets_to_jsdc
from jmmctap.ingest import IngestError, open_source
from jmmctap.ingest.loader import copy_error, file_checksum, log_ingest
from jmmctap.ingest.model import Row
from jmmctap.tapschema.publish import refresh_row_counts

__all__ = ["MODES", "JsdcFile", "JsdcIngestReport", "ingest_jsdc_files"]

MODES = ("update", "replace")
"""``update``: insert new stars, update known ones (by recno); ``replace``: also delete the stars the files lack."""

_STAGING = "jsdc_staging"
_REAL_MAX = 3.4028234663852886e38
"""Largest finite single-precision number."""
_TYPED_SOURCES = ("BINARY", "BINARY2", "FITS")
"""Serializations whose readers give Python numbers, not text."""


@dataclass(frozen=True)
class JsdcFile:
    """A file to load and, when it has no ``recno`` column, the record number of its first row."""

    path: Path
    first_recno: int | None = None
    """None: VizieR's ``recno`` column, or numbering continued after the previous file's last row."""


@dataclass(frozen=True)
class JsdcIngestReport:
    """What one ``ingest_jsdc_files`` call did."""

    files: tuple[str, ...]
    rows: int
    removed: int
    linked_targets: int
    """obsportal targets whose JSDC link changed."""

    def summary(self) -> str:
        removed = f", {self.removed} removed" if self.removed else ""
        return (f"{JSDC_TABLE}: {self.rows} stars loaded from {len(self.files)} file(s){removed};"
                f" {self.linked_targets} obsportal target link(s) changed")


def ingest_jsdc_files(conn: psycopg.Connection[Any], files: Sequence[JsdcFile], *, mode: str = "update",
                      radius_arcsec: float = DEFAULT_RADIUS_ARCSEC) -> JsdcIngestReport:
    """Load the files into ``jsdc.jsdc_v2`` in one transaction (owner connection).

    Raises
    ------
    IngestError
        A file is unreadable, is not a JSDC table, has a bad value (file, row and column named), or
        two rows share a recno; nothing is written.
    """
    if mode not in MODES:
        raise IngestError(f"unknown mode {mode!r} (expected one of {', '.join(MODES)})")
    if not files:
        raise IngestError("no file to load")
    started = datetime.now(UTC)
    with conn.transaction():
        conn.execute(sql.SQL("DROP TABLE IF EXISTS pg_temp.{}").format(sql.Identifier(_STAGING)))
        narrow = _create_staging(conn)
        next_recno: int | None = None
        for file in files:
            first = file.first_recno if file.first_recno is not None else next_recno
            staged = _stage(conn, file.path, first)
            next_recno = None if first is None else first + staged
        _check_unique_recno(conn, files)
        _check_ranges(conn, narrow)
        rows = _upsert(conn)
        removed = _remove_missing(conn) if mode == "replace" else 0
        publish_jsdc_groups(conn)
        linked = link_targets_to_jsdc(conn, radius_arcsec)
        log_ingest(conn, JSDC_TABLE, mode, [f.path.name for f in files], [file_checksum(f.path) for f in files],
                   rows, started)
        refresh_row_counts(conn, [JSDC_TABLE, "obsportal.targets"])
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(_STAGING)))
    return JsdcIngestReport(tuple(str(f.path) for f in files), rows, removed, linked)


def _stage(conn: psycopg.Connection[Any], path: Path, first_recno: int | None) -> int:
    """COPY one file's rows into the staging table; returns how many."""
    source = open_source(path)
    if is_searchcal(source.spec):
        if first_recno is None:
            raise no_recno_error(path)
        searchcal = SearchCalPlan.of(source.spec)
        return _copy(conn, path, column_names(), searchcal.rows(source.rows(), first_recno))
    plan = VizierPlan.of(path, source.spec.fields, first_recno)
    types = plan.binary_types(_column_types(conn)) if source.spec.serialization in _TYPED_SOURCES else None
    return _copy(conn, path, plan.columns, plan.rows(source.rows()), types)


def _create_staging(conn: psycopg.Connection[Any]) -> list[str]:
    """The staging table: jsdc.jsdc_v2's columns and checks, its ``real`` columns widened to double.

    Double columns take every number of a typed (BINARY2, FITS) file by binary COPY; the range of
    ``real`` is checked once all files are staged. Returns the widened columns.
    """
    conn.execute(sql.SQL("CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) ON COMMIT DROP")
                 .format(sql.Identifier(_STAGING), sql.Identifier(*JSDC_TABLE.split("."))))
    narrow = [name for name, kind in _column_types(conn).items() if kind == "real"]
    conn.execute(sql.SQL("ALTER TABLE {} {}").format(sql.Identifier(_STAGING), sql.SQL(", ").join(
        sql.SQL("ALTER COLUMN {} TYPE double precision").format(sql.Identifier(c)) for c in narrow)))
    return narrow


def _column_types(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """Column → type of the staging table (or of jsdc.jsdc_v2 before it is created)."""
    rows = conn.execute("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
                        " WHERE attrelid = coalesce(to_regclass(%s), %s::regclass) AND attnum > 0"
                        " AND NOT attisdropped", [f"pg_temp.{_STAGING}", JSDC_TABLE]).fetchall()
    return dict(rows)


def _copy(conn: psycopg.Connection[Any], path: Path, columns: Sequence[str], rows: Iterable[Row],
          binary_types: Sequence[str] | None = None) -> int:
    """COPY the rows; binary when their values are typed for the columns (3× faster than text for II/346)."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN{}").format(
        sql.Identifier(_STAGING), sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(" (FORMAT BINARY)" if binary_types else ""))
    count = 0
    try:
        with conn.cursor() as cur, cur.copy(statement) as copy:
            if binary_types:
                copy.set_types(list(binary_types))
            for row in rows:
                try:
                    copy.write_row(row)
                # binary_types admits only datatypes that fit; should a reader still give a value the
                # binary dumper refuses, the file is at fault: say where, do not crash
                except (struct.error, OverflowError, TypeError, ValueError) as exc:
                    raise IngestError(f"value that does not fit its column: {exc}", file=path,
                                      row=count + 1) from None
                count += 1
    except (psycopg.DataError, psycopg.IntegrityError) as exc:
        raise copy_error(exc, str(path), {}) from None
    return count


def _check_unique_recno(conn: psycopg.Connection[Any], files: Sequence[JsdcFile]) -> None:
    row = conn.execute(sql.SQL("SELECT recno, count(*) FROM {} GROUP BY recno HAVING count(*) > 1 LIMIT 1")
                       .format(sql.Identifier(_STAGING))).fetchone()
    if row:
        raise IngestError(f"recno {row[0]} appears {row[1]} times in "
                          f"{', '.join(f.path.name for f in files)}: record numbers must be unique")


def _check_ranges(conn: psycopg.Connection[Any], narrow: Sequence[str]) -> None:
    """Refuse a value the ``real`` columns cannot hold (the upsert would fail without saying where)."""
    condition = sql.SQL(" OR ").join(sql.SQL("abs({}) > %(max)s").format(sql.Identifier(c)) for c in narrow)
    row = conn.execute(sql.SQL("SELECT recno, {} FROM {} WHERE {} ORDER BY recno LIMIT 1").format(
        sql.SQL(", ").join(map(sql.Identifier, narrow)), sql.Identifier(_STAGING), condition),
        {"max": _REAL_MAX}).fetchone()
    if row:
        column, value = next((c, v) for c, v in zip(narrow, row[1:], strict=True)
                             if v is not None and abs(v) > _REAL_MAX)
        raise IngestError(f"recno {row[0]}: {column} = {value:g} is out of range (single precision)")


def _upsert(conn: psycopg.Connection[Any]) -> int:
    columns = column_names()
    statement = sql.SQL("INSERT INTO {table} ({cols}) SELECT {cols} FROM {staging}"
                        " ON CONFLICT (recno) DO UPDATE SET {updates}").format(
        table=sql.Identifier(*JSDC_TABLE.split(".")), staging=sql.Identifier(_STAGING),
        cols=sql.SQL(", ").join(map(sql.Identifier, columns)),
        updates=sql.SQL(", ").join(sql.SQL("{0} = excluded.{0}").format(sql.Identifier(c)) for c in columns[1:]),
    )
    return conn.execute(statement).rowcount


def _remove_missing(conn: psycopg.Connection[Any]) -> int:
    statement = sql.SQL("DELETE FROM {} j WHERE NOT EXISTS (SELECT 1 FROM {} s WHERE s.recno = j.recno)").format(
        sql.Identifier(*JSDC_TABLE.split(".")), sql.Identifier(_STAGING))
    return conn.execute(statement).rowcount
