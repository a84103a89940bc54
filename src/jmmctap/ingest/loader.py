"""PostgreSQL side of an ingest: create/stage tables, COPY rows, swap, metadata rows, the ingest log.

Everything runs inside the caller's transaction (``pipeline.ingest_files`` opens exactly one), so a
failure leaves the database as it was. ``replace`` loads into a staging table and swaps it in at
the end: readers keep seeing the old table until the commit, then wait for the short exclusive lock
of the swap, and PostgreSQL re-resolves the name to the new table once it is granted.
"""

from __future__ import annotations

import getpass
import hashlib
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from jmmctap.ingest.columns import MappedColumn, column_definitions
from jmmctap.ingest.groups import GroupMember
from jmmctap.ingest.model import InfoSpec, IngestError, Row
from jmmctap.ingest.names import PG_MAX_NAME_BYTES
from jmmctap.ingest.tabledata_fast import CopyText

__all__ = [
    "STAGING_SUFFIX",
    "check_append_columns",
    "copy_error",
    "copy_rows",
    "create_table",
    "existing_columns",
    "file_checksum",
    "log_ingest",
    "swap_tables",
    "table_exists",
    "write_table_metadata",
]

STAGING_SUFFIX = "__jmmctap_staging"
"""Suffix of the staging table a replace loads into before the swap."""

_FORMAT_TYPE = {"timestamp": "timestamp without time zone"}
_COPY_CONTEXT = re.compile(r"COPY [^,]+, line (\d+)(?:, column ([^:]+))?")


def table_exists(conn: psycopg.Connection[Any], schema: str, table: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = %s", [schema, table]
    ).fetchone()
    return row is not None


def staging_name(table: str) -> str:
    """The staging table's name, kept within PostgreSQL's 63 bytes."""
    head = table.encode()[: PG_MAX_NAME_BYTES - len(STAGING_SUFFIX)].decode(errors="ignore")
    return head + STAGING_SUFFIX


def create_table(conn: psycopg.Connection[Any], schema: str, table: str, columns: Sequence[MappedColumn]) -> None:
    conn.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier(schema, table), column_definitions(columns)))


def existing_columns(conn: psycopg.Connection[Any], schema: str, table: str) -> list[tuple[str, str]]:
    """(name, type) of a table's columns in order, types as ``format_type`` spells them."""
    rows = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"
        " JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        [schema, table],
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def check_append_columns(conn: psycopg.Connection[Any], schema: str, table: str,
                         columns: Sequence[MappedColumn], file: str) -> None:
    """Refuse an append whose columns (names and types, in order) differ from the table's."""
    have = existing_columns(conn, schema, table)
    want = [(c.name.db, _FORMAT_TYPE.get(c.pg_type, c.pg_type)) for c in columns]
    if have != want:
        missing = [f"{n} {t}" for n, t in want if (n, t) not in have]
        extra = [f"{n} {t}" for n, t in have if (n, t) not in want]
        detail = "; ".join(filter(None, [
            f"not in the table: {', '.join(missing)}" if missing else "",
            f"not in the file: {', '.join(extra)}" if extra else "",
            "same columns in another order" if not missing and not extra else "",
        ]))
        raise IngestError(f"cannot append: the columns differ from {schema}.{table} ({detail})", file=file)


_BINARY_COPY_TYPES = frozenset(
    base + suffix
    for base in ("smallint", "integer", "bigint", "real", "double precision", "boolean", "text")
    for suffix in ("", "[]")
)
"""Column types whose Python values psycopg dumps in binary: binary COPY spares formatting every value
as text in Python and parsing it again in PostgreSQL (about a third of an ingest's time)."""


def copy_rows(conn: psycopg.Connection[Any], schema: str, table: str, columns: Sequence[MappedColumn],
              rows: Iterable[Row | CopyText], file: str, *, typed: bool = False) -> None:
    """COPY rows into the table; a value PostgreSQL rejects becomes an IngestError naming row and column.

    ``typed``: the rows hold Python values of the columns' types (BINARY/BINARY2 sources), not text
    for PostgreSQL to parse, so binary COPY can be used when every column type allows it.
    ``CopyText`` items (UTF-8 COPY text from the TABLEDATA fast path) go to the text COPY as they are.
    """
    binary = typed and bool(columns) and all(c.pg_type in _BINARY_COPY_TYPES for c in columns)
    statement = sql.SQL("COPY {} ({}) FROM STDIN{}").format(
        sql.Identifier(schema, table), sql.SQL(", ").join(sql.Identifier(c.name.db) for c in columns),
        sql.SQL(" (FORMAT BINARY)" if binary else ""),
    ) if columns else sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(schema, table))
    by_db = {c.name.db: c.field.name for c in columns}
    try:
        with conn.cursor() as cur, cur.copy(statement) as copy:
            if binary:
                copy.set_types([c.pg_type for c in columns])
            utf8 = conn.info.encoding == "utf-8"
            for row in rows:
                if isinstance(row, CopyText):
                    if binary:
                        raise AssertionError("COPY text blocks cannot go to a binary COPY")
                    copy.write(row.data if utf8 else row.data.decode().encode(conn.info.encoding))
                else:
                    copy.write_row(row)
    except (psycopg.DataError, psycopg.IntegrityError) as exc:
        raise copy_error(exc, file, by_db) from None


def copy_error(exc: psycopg.Error, file: str, by_db: dict[str, str]) -> IngestError:
    """The IngestError for a value COPY rejected, with row and column (``by_db``: column → source field).

    A CHECK violation is a position out of range: its constraint is named after the column
    (``positions.range_statement``).
    """
    message = exc.diag.message_primary or str(exc)
    column = None
    if isinstance(exc, psycopg.errors.CheckViolation) and exc.diag.constraint_name:
        column = exc.diag.constraint_name
        message = ("impossible position: right ascension must be within [0, 360] degrees, declination within"
                   " [-90, 90]")
    match = _COPY_CONTEXT.search(exc.diag.context or "")
    if not match:
        return IngestError(message, file=file, column=by_db.get(column, column) if column else None)
    column = column or match[2]
    return IngestError(message, file=file, row=int(match[1]),
                       column=by_db.get(column, column) if column else None)


def swap_tables(conn: psycopg.Connection[Any], schema: str, table: str, staging: str) -> None:
    """Drop the live table and give the staging table its name (inside the caller's transaction)."""
    conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(schema, table)))
    conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(sql.Identifier(schema, staging), sql.Identifier(table)))


def write_table_metadata(conn: psycopg.Connection[Any], table_name: str, columns: Sequence[MappedColumn],
                         infos: Sequence[InfoSpec], members: Sequence[GroupMember]) -> None:
    """Replace the table's rows in tap_schema.column_origins, table_params and column_groups."""
    for name in ("column_origins", "table_params", "column_groups"):
        conn.execute(sql.SQL("DELETE FROM {} WHERE table_name = %s").format(sql.Identifier("tap_schema", name)),
                     [table_name])
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO tap_schema.column_origins (table_name, column_name, original_name, field_id, ref,"
            " null_value) VALUES (%s, %s, %s, %s, %s, %s)",
            [(table_name, c.column.name, c.name.original, c.field.id, c.field.ref, c.field.null) for c in columns],
        )
        cur.executemany(
            "INSERT INTO tap_schema.table_params (table_name, param_index, kind, scope, name, param_value, datatype,"
            " arraysize, unit, ucd, utype, xtype, description)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(table_name, i, p.kind, p.scope, p.name, p.value,
              *((p.field.datatype, p.field.arraysize, p.field.unit, p.field.ucd, p.field.utype, p.field.xtype,
                 p.field.description) if p.field else (None, None, None, None, None, None, p.content)))
             for i, p in enumerate(infos)],
        )
        cur.executemany(
            "INSERT INTO tap_schema.column_groups (table_name, group_index, group_name, group_id, group_ucd,"
            " group_utype, group_description, parent_group, member_name, member_kind, role)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(table_name, m.group_index, m.group.name, m.group.id, m.group.ucd, m.group.utype, m.group.description,
              m.group.parent, m.member_name, m.member_kind, m.role) for m in members],
        )


def file_checksum(path: Path) -> str:
    """``sha256:<hex>`` of a file, read in blocks (``missing`` when it cannot be read), for the ingest log."""
    try:
        with path.open("rb") as f:
            return "sha256:" + hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return "missing"


def log_ingest(conn: psycopg.Connection[Any], table_name: str, mode: str, files: Sequence[str],
               checksums: Sequence[str], n_rows: int, started_at: datetime, user: str | None = None) -> None:
    """Record the ingest in jmmctap.ingest_log (reported by /health); ``user`` defaults to the OS user."""
    conn.execute(
        "INSERT INTO jmmctap.ingest_log (table_name, mode, files, checksums, n_rows, os_user, started_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        [table_name, mode, list(files), list(checksums), n_rows, user or _os_user(), started_at],
    )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
