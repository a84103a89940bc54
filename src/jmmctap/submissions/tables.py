"""Tables uploaded over HTTP (votable2tap as a web service): who may write where, then ``jmmctap ingest``'s engine.

Rules (README, "Submitting data"):

- a signed-in user may always write its own schema ``user_<login>`` (created and published on first use);
  any other schema needs a writer grant to one of its groups (``acl.writers``, ``jmmctap writer add``);
- tables of the catalogue loaders (``tapschema.owners``) and reserved schemas are never writable over HTTP;
- a table an upload creates in ``user_<login>`` is granted to the owner's personal group (sql/0033): only
  its owner sees it until ``jmmctap grant`` adds groups or makes it ``--public``; elsewhere the schema's
  usual rules apply (public unless granted, as for ``jmmctap ingest``);
- the grant, the ingest (table, TAP_SCHEMA, ingest log) or the drop are one transaction: a refused file
  leaves the previous table and its metadata as they were.

The loader is synchronous (psycopg, COPY); it runs in a worker thread on a connection of its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import psycopg

from jmmctap.acl.principal import personal_group
from jmmctap.acl.writers import may_write_schema, user_schema
from jmmctap.auth import Principal
from jmmctap.dali import MAX_NAME_CHARS, check_text
from jmmctap.db.connect import connect, conninfos
from jmmctap.errors import ConflictError, ForbiddenError, NotFoundError, UsageError
from jmmctap.ingest import MODES, IngestError, IngestReport, ingest_files, parse_target
from jmmctap.ingest.drop import drop_table
from jmmctap.ingest.loader import table_exists
from jmmctap.ingest.pipeline import TargetTable
from jmmctap.settings import Settings
from jmmctap.tapschema.owners import is_loader_owned
from jmmctap.upload import UPLOAD_LIMITS

__all__ = ["TableUpload", "UploadOutcome", "drop_uploaded_table", "ingest_upload", "parse_table_upload"]

MAX_DESCRIPTION_CHARS = 4000
"""Longest table description an upload may give."""


@dataclass(frozen=True)
class TableUpload:
    """What a ``PUT /tables/SCHEMA.TABLE`` asks: the table, ``create|replace|append`` and a description."""

    table: str
    mode: str
    description: str | None = None
    label: str = "the uploaded file"
    """How messages name the file (the client's file name in a form); never the spool file's path."""


@dataclass(frozen=True)
class UploadOutcome:
    """The ingest's report, and whether the upload created the table (HTTP 201) or changed it (200)."""

    report: IngestReport
    created: bool

    def as_json(self) -> dict[str, Any]:
        """The response body."""
        r = self.report
        return {"table": r.table_name, "mode": r.mode, "created": self.created, "rows": r.rows,
                "total_rows": r.total_rows, "columns": r.columns, "indexed": list(r.indexed),
                "seconds": round(r.seconds, 3)}


def parse_table_upload(table: str, fields: Mapping[str, str], filename: str | None = None) -> TableUpload:
    """The upload asked for by the URL's table and the ``mode``/``description`` parameters (default ``create``).

    Raises
    ------
    UsageError
        An unknown mode, an overlong description.
    """
    mode = (fields.get("mode") or "create").strip().lower()
    if mode not in MODES:
        raise UsageError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    description = fields.get("description") or None
    if description is not None and len(description) > MAX_DESCRIPTION_CHARS:
        raise UsageError(f"the description is longer than {MAX_DESCRIPTION_CHARS} characters")
    label = check_text(filename.strip(), "the file name", MAX_NAME_CHARS) if filename and filename.strip() else None
    return TableUpload(table, mode, description, label or "the uploaded file")


async def ingest_upload(settings: Settings, principal: Principal, upload: TableUpload, path: Path) -> UploadOutcome:
    """Load the spooled file ``path`` into the table, as ``principal``, in one transaction.

    Raises
    ------
    ForbiddenError
        The caller may not write that schema, or the table is a catalogue loader's.
    ConflictError
        ``create`` of an existing table.
    NotFoundError
        ``append`` to a missing table.
    IngestError
        A bad name or a file that cannot be loaded (with file, row, column); nothing changed.
    """
    return await anyio.to_thread.run_sync(_ingest, settings, principal, upload, path)


async def drop_uploaded_table(settings: Settings, principal: Principal, table: str) -> None:
    """Unpublish and drop the table (``jmmctap drop``), as ``principal``.

    An owner's schema left without tables is unpublished too, so that its name tells nothing.

    Raises
    ------
    ForbiddenError
        The caller may not write that schema, or the table is a catalogue loader's.
    NotFoundError
        No such table.
    """
    await anyio.to_thread.run_sync(_drop, settings, principal, table)


def _ingest(settings: Settings, principal: Principal, upload: TableUpload, path: Path) -> UploadOutcome:
    target = parse_target(upload.table)
    with connect(conninfos(settings).owner, autocommit=True) as conn:
        login = _check_writer(conn, principal, target)
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [target.table_name])  # as the ingest does
            existed = table_exists(conn, target.db_schema, target.db_table)
            if upload.mode == "create" and existed:
                raise ConflictError(f"table {target.table_name} already exists: upload with mode=replace or"
                                    " mode=append")
            if upload.mode == "append" and not existed:
                raise NotFoundError(f"table {target.table_name} does not exist: upload with mode=create")
            if not existed and target.db_schema == user_schema(login):  # private from its first moment
                conn.execute("INSERT INTO acl.table_grant (table_name, group_name) VALUES (%s, %s)"
                             " ON CONFLICT DO NOTHING", [target.table_name, personal_group(login)])
            try:
                report = ingest_files(conn, [path], target.table_name, mode=upload.mode,
                                      description=upload.description, query_role=settings.query_role,
                                      limits=UPLOAD_LIMITS, ingested_by=f"http:{login}")
            except IngestError as exc:  # the reader names the spool file: name the client's instead
                raise IngestError(exc.message.replace(str(path), upload.label)) from None
    return UploadOutcome(dataclasses.replace(report, files=(upload.label,)), created=not existed)


def _drop(settings: Settings, principal: Principal, table: str) -> None:
    target = parse_target(table)
    with connect(conninfos(settings).owner, autocommit=True) as conn:
        login = _check_writer(conn, principal, target)
        with conn.transaction():
            drop_table(conn, target.table_name)
            if target.db_schema == user_schema(login):
                conn.execute("DELETE FROM tap_schema.schemas s WHERE schema_name = %s AND NOT EXISTS"
                             " (SELECT 1 FROM tap_schema.tables t WHERE t.schema_name = s.schema_name)",
                             [target.schema_name])


def _check_writer(conn: psycopg.Connection[Any], principal: Principal, target: TargetTable) -> str:
    if principal.name is None:  # the endpoints ask for a login first; this is the last guard
        raise ForbiddenError("sign in to upload tables")
    if is_loader_owned(target.db_schema, target.db_table):
        raise ForbiddenError(f"table {target.table_name} belongs to a catalogue loader: it cannot be changed"
                             " over HTTP")
    if not may_write_schema(conn, target.db_schema, principal.name, principal.groups):
        raise ForbiddenError(f"{principal.name} may not write schema {target.schema_name}: upload into"
                             f" {user_schema(principal.name)}, or ask for a writer grant")
    return principal.name
