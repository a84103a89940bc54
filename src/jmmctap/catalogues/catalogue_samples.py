"""Load the JSDC, JMDC, BadCal and SPICA samples of ``ingest/samples/`` (see its README).

JSDC rows come from real SearchCal/GetStar VOTables (``jmmctap.catalogues.jsdc``) and from the real
II/346 values of 80 bright stars (VizieR labels, ``jsdc_vizier``), BadCal reports
from a CSV, JMDC and SPICA through the votable2tap ingester. Every step is idempotent: rows are
upserted by key, and a file table is ingested again only when its files changed since its last
ingest (checksums in ``jmmctap.ingest_log``). Ingested tables get the column metadata their files
lack from a ``<file>.columns.yaml`` beside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import yaml

from jmmctap.catalogues.badcal import BADCAL_TABLE, read_reports, upsert_reports
from jmmctap.catalogues.eso_ingest import record_ingest
from jmmctap.catalogues.jsdc import JSDC_TABLE
from jmmctap.catalogues.jsdc_ingest import JsdcFile, ingest_jsdc_files
from jmmctap.errors import ConfigError
from jmmctap.ingest import ingest_files
from jmmctap.ingest.loader import file_checksum
from jmmctap.tapschema.publish import refresh_row_counts

__all__ = ["JSDC_SAMPLES", "TABLE_SAMPLES", "TableSample", "load_catalogue_samples"]

JSDC_SAMPLES = (("SearchCal-ETA_TAU-first120.scvot", 1), ("getstar-Sirius.vot", 1001),
                ("jsdc_v2_values_Hom2025.vot", 2001))
"""JSDC sample files in ``jsdc/`` and the recno of their first row (stable keys across reloads)."""


@dataclass(frozen=True)
class TableSample:
    """A sample table loaded by the ingester: table, files (relative to the samples root), description."""

    table: str
    files: tuple[str, ...]
    description: str


TABLE_SAMPLES = (
    TableSample(
        "jmdc.jmdc", ("jmdc/JMDC_II_345_v2016.fits",),
        "JMMC Measured stellar Diameters Catalogue (Duvert 2016, VizieR II/345 first version, 1239 measurements):"
        " angular diameters measured by optical interferometry, lunar occultation or intensity interferometry,"
        " with the star position from the SearchCal cross-match.",
    ),
    TableSample(
        "spica.spica_proto_wp5", ("spica/spica-db-proto-partial_wp5.vot",),
        "CHARA/SPICA survey database prototype (SPICA-DB, January 2021, work package 5 extract): survey targets"
        " with programme, priorities, photometry, JSDC and surface-brightness diameters; 'TBD by <module>'"
        " marks values the SPICA pipeline fills later.",
    ),
)
"""Sample tables loaded with ``jmmctap.ingest``."""


def load_catalogue_samples(conn: psycopg.Connection[Any], root: Path, query_role: str) -> dict[str, int]:
    """Load every catalogue sample; returns the rows of each table afterwards.

    Raises
    ------
    ConfigError
        A sample file is missing or unreadable (the shipped samples must all load).
    """
    rows = {JSDC_TABLE: _load_jsdc(conn, root / "jsdc"), BADCAL_TABLE: _load_badcal(conn, root / "badcal")}
    for sample in TABLE_SAMPLES:
        rows[sample.table] = _load_table(conn, root, sample, query_role)
    return rows


def _load_jsdc(conn: psycopg.Connection[Any], directory: Path) -> int:
    files = [JsdcFile(directory / name, first) for name, first in JSDC_SAMPLES]
    _require([f.path for f in files])
    return ingest_jsdc_files(conn, files).rows


def _load_badcal(conn: psycopg.Connection[Any], directory: Path) -> int:
    path = directory / "example_reports.csv"
    _require([path])
    started = datetime.now(UTC)
    with conn.transaction():
        count = upsert_reports(conn, read_reports(path))
        record_ingest(conn, BADCAL_TABLE, [path], count, started)
        refresh_row_counts(conn, [BADCAL_TABLE])
    return count


def _load_table(conn: psycopg.Connection[Any], root: Path, sample: TableSample, query_role: str) -> int:
    paths = [root / name for name in sample.files]
    _require(paths)
    if not _unchanged(conn, sample.table, paths):
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [sample.table]).fetchone()
        mode = "replace" if exists and exists[0] else "create"
        ingest_files(conn, paths, sample.table, mode=mode, description=sample.description, query_role=query_role,
                     force=True)  # this loader owns the table (tapschema/owners.py)
    with conn.transaction():
        for path in paths:
            _describe_columns(conn, sample.table, path.with_name(path.name.rsplit(".", 1)[0] + ".columns.yaml"))
    row = conn.execute("SELECT nrows FROM tap_schema.tables WHERE table_name = %s", [sample.table]).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _unchanged(conn: psycopg.Connection[Any], table: str, paths: list[Path]) -> bool:
    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [table]).fetchone()
    if not exists or not exists[0]:
        return False
    last = conn.execute("SELECT checksums FROM jmmctap.ingest_log WHERE table_name = %s ORDER BY id DESC LIMIT 1",
                        [table]).fetchone()
    return last is not None and list(last[0]) == [file_checksum(p) for p in paths]


def _describe_columns(conn: psycopg.Connection[Any], table: str, path: Path) -> None:
    """Set unit, UCD and description of the ingested columns named (by their file name) in ``path``."""
    if not path.is_file():
        return
    try:
        metadata = yaml.safe_load(path.read_text())
        entries = [(str(name), *(None if v is None else str(v) for v in values)) for name, values in metadata.items()]
    except (yaml.YAMLError, AttributeError, TypeError) as exc:
        raise ConfigError(f"{path}: invalid column metadata: {exc}") from None
    for name, unit, ucd, description in entries:
        conn.execute(
            """UPDATE tap_schema.columns c SET unit = %s, ucd = %s, description = %s
               WHERE c.table_name = %s AND (c.column_name IN (%s, %s) OR c.column_name IN
                   (SELECT o.column_name FROM tap_schema.column_origins o
                    WHERE o.table_name = %s AND o.original_name = %s))""",
            [unit, ucd, description, table, name, f'"{name}"', table, name],
        )


def _require(paths: list[Path]) -> None:
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ConfigError(f"sample file missing: {', '.join(missing)}")
