"""``ingest_files``: load VOTable/FITS files into one published table, atomically.

Steps: read every file's metadata → map columns (names, types, positions) → in ONE transaction:
create (or stage) the table, COPY each file's rows, index, ANALYZE, swap for ``replace``, publish
the schema/table in TAP_SCHEMA with groups, params and original names, refresh ``nrows``, and log.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from jmmctap.ingest import loader
from jmmctap.ingest.columns import MappedColumn, map_fields
from jmmctap.ingest.groups import group_members
from jmmctap.ingest.model import IngestError, ReadLimits, Row, TableSource
from jmmctap.ingest.names import PG_MAX_NAME_BYTES
from jmmctap.ingest.positions import Positions, find_positions, index_statement, range_statement
from jmmctap.ingest.report import IngestReport, Progress
from jmmctap.ingest.sources import open_source
from jmmctap.ingest.tabledata_fast import CopyText
from jmmctap.ingest.votable import VOTableSource
from jmmctap.tapschema.model import Schema, Table, split_qualified
from jmmctap.tapschema.owners import LOADER_COMMANDS, is_loader_owned
from jmmctap.tapschema.publish import grant_schema_usage, publish_schema, publish_table, refresh_row_counts

__all__ = ["MODES", "TargetTable", "check_not_loader_owned", "create_schema", "ingest_files", "parse_target"]

MODES = ("create", "replace", "append")
"""``create`` refuses an existing table, ``replace`` swaps it atomically, ``append`` adds rows."""

_REGULAR = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_PROTECTED_SCHEMAS = frozenset({"tap_schema", "jmmctap", "public", "information_schema", "tap_upload", "uws"})


@dataclass(frozen=True)
class TargetTable:
    """Where an ingest goes: TAP_SCHEMA names and PostgreSQL names."""

    table_name: str
    """TAP_SCHEMA table_name, e.g. ``conf.stars`` or ``cat."B-V stars"``."""
    schema_name: str
    db_schema: str
    db_table: str


def parse_target(text: str) -> TargetTable:
    """Parse ``SCHEMA.TABLE`` (each part a regular or a delimited ADQL identifier)."""
    parts = split_qualified(text.strip())
    if len(parts) != 2 or ".".join(str(p) for p in parts) != text.strip() or any(
        not p.text or (not p.delimited and not _REGULAR.match(p.text)) for p in parts
    ):
        raise IngestError(f"table name {text!r} must be SCHEMA.TABLE (ADQL identifiers)")
    schema, table = parts
    if schema.text.lower() in _PROTECTED_SCHEMAS or schema.text.lower().startswith(("pg_", "jmmctap_")):
        raise IngestError(f"schema {schema.text!r} is reserved; ingest into a catalogue schema")
    if any(len(p.text.encode()) > PG_MAX_NAME_BYTES for p in parts):
        raise IngestError(f"table name {text!r}: a part is longer than {PG_MAX_NAME_BYTES} bytes")
    return TargetTable(table_name=f"{schema}.{table}", schema_name=str(schema), db_schema=schema.text,
                       db_table=table.text)


def check_not_loader_owned(target: TargetTable, action: str) -> None:
    """Refuse to ``action`` a table a catalogue loader owns (the caller passes ``--force`` to skip this).

    Raises
    ------
    IngestError
        Naming the table, its owners and ``--force``.
    """
    if is_loader_owned(target.db_schema, target.db_table):
        raise IngestError(f"table {target.table_name} belongs to the catalogue loaders ({LOADER_COMMANDS});"
                          f" {action} it anyway with --force")


def create_schema(conn: psycopg.Connection[Any], db_schema: str) -> None:
    """``CREATE SCHEMA IF NOT EXISTS`` that survives a parallel ingest creating the same schema.

    The second creator waits for the first one's commit on the catalog's unique index, then fails
    with a unique violation; trying again (in a savepoint) finds the schema there.
    """
    statement = sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(db_schema))
    try:
        with conn.transaction():
            conn.execute(statement)
    except psycopg.errors.UniqueViolation:
        conn.execute(statement)


def ingest_files(
    conninfo_or_connection: str | psycopg.Connection[Any],
    files: Sequence[Path],
    table: str,
    *,
    mode: str = "create",
    description: str | None = None,
    table_index: int = 0,
    query_role: str = "jmmctap_query",
    progress: bool = False,
    force: bool = False,
    limits: ReadLimits | None = None,
    ingested_by: str | None = None,
) -> IngestReport:
    """Load one or more VOTable/FITS files into one table and publish it in TAP_SCHEMA.

    Parameters
    ----------
    conninfo_or_connection
        A connection as the owner role (not inside a transaction, or the ingest becomes part of
        the caller's), or a libpq connection string for it.
    files
        VOTables (any version, TABLEDATA/BINARY/BINARY2, optionally gzipped) or FITS binary tables;
        with several files, all must have the same columns.
    table
        ``SCHEMA.TABLE``; a new schema is created and published.
    mode
        ``create`` (refuse an existing table), ``replace`` (staging table, atomic swap) or ``append``.
    description
        Table description; default: the TABLE's or RESOURCE's DESCRIPTION.
    table_index
        Which TABLE of each file (0 = first).
    query_role
        The SELECT-only role granted access.
    progress
        Draw a progress bar (rows/s) on stderr when it is a terminal and the ingest lasts.
    force
        Allow ingesting into a table a catalogue loader owns (``owners.is_loader_owned``); the
        loaders themselves pass it.
    limits
        Bounds on a cell and a row, for files from untrusted senders (HTTP uploads); none for an operator's.
    ingested_by
        Who asked, as ``jmmctap.ingest_log.os_user`` records it; default: the OS user running the ingest.

    Returns
    -------
    IngestReport

    Raises
    ------
    IngestError
        Any problem with the files or the target; the database is left unchanged.
    """
    if mode not in MODES:
        raise IngestError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if not files:
        raise IngestError("no file to ingest")
    target = parse_target(table)
    if not force:
        check_not_loader_owned(target, {"create": "create", "replace": "replace", "append": "append to"}[mode])
    with ExitStack() as stack:
        if isinstance(conninfo_or_connection, str):
            conn = stack.enter_context(psycopg.connect(conninfo_or_connection))
        else:
            conn = conninfo_or_connection
        return _ingest(conn, [Path(f) for f in files], target, mode, description, table_index, query_role, progress,
                       limits, ingested_by)


def _ingest(conn: psycopg.Connection[Any], files: list[Path], target: TargetTable, mode: str,
            description: str | None, table_index: int, query_role: str, progress: bool,
            limits: ReadLimits | None, ingested_by: str | None) -> IngestReport:
    started_at = datetime.now(UTC)
    start = time.monotonic()
    sources = [open_source(path, table_index, limits) for path in files]
    positions = find_positions(target.table_name, _columns(target, sources))
    checksums = [loader.file_checksum(path) for path in files]
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [target.table_name])
        exists = loader.table_exists(conn, target.db_schema, target.db_table)
        if mode == "create" and exists:
            raise IngestError(f"table {target.table_name} already exists (use --mode replace or append)")
        if mode == "append" and not exists:
            raise IngestError(f"table {target.table_name} does not exist (use --mode create)")
        if mode == "append":
            loader.check_append_columns(conn, target.db_schema, target.db_table, positions.columns, str(files[0]))
        rows = _load(conn, sources, target, positions, mode, exists, progress)
        if mode != "append":
            _publish(conn, target, sources, positions, description, query_role)
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(target.db_schema, target.db_table)))
        refresh_row_counts(conn, [target.table_name])
        loader.log_ingest(conn, target.table_name, mode, [str(p.resolve()) for p in files], checksums, rows,
                          started_at, ingested_by)
        total = conn.execute("SELECT nrows FROM tap_schema.tables WHERE table_name = %s",
                             [target.table_name]).fetchone()
    return IngestReport(
        table_name=target.table_name, mode=mode, files=tuple(str(p) for p in files), rows=rows,
        total_rows=int(total[0]) if total and total[0] is not None else rows, seconds=time.monotonic() - start,
        columns=len(positions.columns),
        indexed=tuple(c.column.name for c in (positions.ra, positions.dec) if c is not None),
    )


def _columns(target: TargetTable, sources: list[TableSource]) -> list[MappedColumn]:
    first = map_fields(target.table_name, sources[0].spec.fields)
    signature = [(c.name.db, c.pg_type) for c in first]
    for source in sources[1:]:
        other = map_fields(target.table_name, source.spec.fields)
        if [(c.name.db, c.pg_type) for c in other] != signature:
            raise IngestError(f"columns differ from those of {sources[0].spec.file}", file=source.spec.file)
    return first


def _load(conn: psycopg.Connection[Any], sources: list[TableSource], target: TargetTable, positions: Positions,
          mode: str, exists: bool, progress: bool) -> int:
    into = target.db_table
    if mode == "replace" and exists:
        into = loader.staging_name(target.db_table)
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(target.db_schema, into)))
    if mode != "append":
        create_schema(conn, target.db_schema)
        loader.create_table(conn, target.db_schema, into, positions.columns)
        ranges = range_statement(target.db_schema, into, positions)
        if ranges is not None:  # before COPY, so that an impossible position is refused at its row
            conn.execute(ranges)
    total = 0
    for source in sources:
        counter = Progress(f"{source.spec.file.name}", enabled=progress, expected_rows=source.spec.nrows_declared)
        transform = positions.row_transform
        rows: Iterator[Row | CopyText]
        if transform is None and isinstance(source, VOTableSource):
            rows = counter.count_items(source.copy_items())  # TABLEDATA as COPY text blocks
        else:
            plain = counter.count(source.rows())
            rows = plain if transform is None else (transform(r) for r in plain)
        loader.copy_rows(conn, target.db_schema, into, positions.columns, rows, str(source.spec.file),
                         typed=source.spec.serialization in ("BINARY", "BINARY2"))
        counter.done()
        total += counter.rows
    if mode != "append":
        statement = index_statement(target.db_schema, into, positions)
        if statement is not None:
            try:
                conn.execute(statement)
            except psycopg.DataError as exc:
                raise IngestError(f"cannot index the positions: {exc.diag.message_primary}",
                                  file=sources[0].spec.file) from None
    if into != target.db_table:
        loader.swap_tables(conn, target.db_schema, target.db_table, into)
    return total


def _publish(conn: psycopg.Connection[Any], target: TargetTable, sources: list[TableSource],
             positions: Positions, description: str | None, query_role: str) -> None:
    spec = sources[0].spec
    listed = conn.execute("SELECT 1 FROM tap_schema.schemas WHERE schema_name = %s", [target.schema_name]).fetchone()
    if listed is None:
        publish_schema(conn, Schema(target.schema_name, f"Tables ingested by jmmctap into {target.schema_name}"),
                       query_role)
    else:
        grant_schema_usage(conn, target.db_schema, query_role)
    table = Table(
        schema_name=target.schema_name, name=target.table_name, table_type="table",
        description=description or spec.description, table_index=None,
        columns=tuple(c.column for c in positions.columns),
    )
    publish_table(conn, table, query_role)
    params = [p for p in spec.infos if p.kind == "PARAM"]
    members = group_members(spec.groups, positions.columns, params)
    loader.write_table_metadata(conn, target.table_name, positions.columns, spec.infos, members)

