"""Write TAP_SCHEMA rows: publish a schema or a table, refresh row counts.

The ingester, the catalogue loaders and the YAML declarations all publish through these
functions. They run inside the caller's transaction, so a table and its metadata appear (or are
replaced) atomically.

Grants are given only when missing: GRANT rewrites the object's catalog row even when nothing
changes, and two transactions doing so on one schema fail with "tuple concurrently updated"
(parallel ingests into one schema). A per-schema advisory lock orders the check and the grant.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg import sql

from jmmctap.tapschema.model import Key, Schema, Table

__all__ = [
    "grant_schema_usage",
    "grant_table_select",
    "publish_keys",
    "publish_schema",
    "publish_table",
    "refresh_row_counts",
    "size_from_arraysize",
    "unpublish_table",
]

_FIXED_OR_BOUNDED = re.compile(r"^(\d+)\*?$")


def size_from_arraysize(arraysize: str | None) -> int | None:
    """TAP 1.1 §4.3: ``size`` is the integer of a 1-D arraysize (``256*`` → 256), else NULL."""
    if arraysize is None:
        return None
    match = _FIXED_OR_BOUNDED.match(arraysize)
    return int(match[1]) if match else None


def publish_schema(conn: psycopg.Connection[Any], schema: Schema, query_role: str) -> None:
    """Create the PostgreSQL schema if needed, let the query role read it, and list it in TAP_SCHEMA.

    Publishing a listed schema again (another declaration file, an ingest) keeps the description,
    utype and index it has unless new ones are given.
    """
    name = sql.Identifier(schema.name)
    role = sql.Identifier(query_role)
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(name))
    grant_schema_usage(conn, schema.name, query_role)
    if not _default_select_granted(conn, schema.name, query_role):
        conn.execute(sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT ON TABLES TO {}").format(name, role))
    conn.execute(
        """INSERT INTO tap_schema.schemas (schema_name, description, utype, schema_index)
           VALUES (%s, %s, %s, %s)
           ON CONFLICT (schema_name) DO UPDATE SET
               description = coalesce(excluded.description, schemas.description),
               utype = coalesce(excluded.utype, schemas.utype),
               schema_index = coalesce(excluded.schema_index, schemas.schema_index)""",
        [schema.name, schema.description, schema.utype, schema.schema_index],
    )


def grant_schema_usage(conn: psycopg.Connection[Any], db_schema: str, query_role: str) -> None:
    """``GRANT USAGE ON SCHEMA`` to the query role, unless it has it."""
    _lock_grants(conn, db_schema)
    row = conn.execute("SELECT has_schema_privilege(%s, n.oid, 'USAGE') FROM pg_namespace n WHERE n.nspname = %s",
                       [query_role, db_schema]).fetchone()
    if row != (True,):
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
            sql.Identifier(db_schema), sql.Identifier(query_role)))


def grant_table_select(conn: psycopg.Connection[Any], db_schema: str, db_table: str, query_role: str) -> None:
    """``GRANT SELECT`` on a table or view to the query role, unless it has it (default privileges)."""
    row = conn.execute(
        "SELECT has_table_privilege(%s, c.oid, 'SELECT') FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
        [query_role, db_schema, db_table]).fetchone()
    if row != (True,):
        conn.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(
            sql.Identifier(db_schema, db_table), sql.Identifier(query_role)))


def _lock_grants(conn: psycopg.Connection[Any], db_schema: str) -> None:
    # transaction-scoped; outside a transaction (autocommit) it would be released at once, harmlessly
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"jmmctap.grant:{db_schema}"])


def _default_select_granted(conn: psycopg.Connection[Any], db_schema: str, query_role: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace,"
        " aclexplode(d.defaclacl) a WHERE n.nspname = %s AND d.defaclobjtype = 'r'"
        " AND d.defaclrole = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
        " AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = %s) AND a.privilege_type = 'SELECT'",
        [db_schema, query_role]).fetchone()
    return row is not None


def unpublish_table(conn: psycopg.Connection[Any], table_name: str) -> None:
    """Remove a table's TAP_SCHEMA rows (columns and keys cascade)."""
    conn.execute("DELETE FROM tap_schema.key_columns WHERE key_id IN (SELECT key_id FROM tap_schema.keys"
                 " WHERE from_table = %s OR target_table = %s)", [table_name, table_name])
    conn.execute("DELETE FROM tap_schema.keys WHERE from_table = %s OR target_table = %s",
                 [table_name, table_name])
    conn.execute("DELETE FROM tap_schema.tables WHERE table_name = %s", [table_name])


def publish_table(conn: psycopg.Connection[Any], table: Table, query_role: str) -> None:
    """Replace the TAP_SCHEMA rows of ``table`` (its columns included) and grant SELECT on it."""
    grant_table_select(conn, table.db_schema, table.db_table, query_role)
    conn.execute("DELETE FROM tap_schema.columns WHERE table_name = %s", [table.name])
    conn.execute(
        """INSERT INTO tap_schema.tables
               (schema_name, table_name, table_type, utype, description, table_index, nrows)
           VALUES (%s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (table_name) DO UPDATE SET schema_name = excluded.schema_name,
               table_type = excluded.table_type, utype = excluded.utype, description = excluded.description,
               table_index = excluded.table_index, nrows = coalesce(excluded.nrows, tables.nrows)""",
        [table.schema_name, table.name, table.table_type, table.utype, table.description,
         table.table_index, table.nrows],
    )
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO tap_schema.columns (table_name, column_name, datatype, arraysize, xtype, "size",
                   description, utype, unit, ucd, indexed, principal, std, column_index)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
            [
                (table.name, c.name, c.datatype, c.arraysize, c.xtype, size_from_arraysize(c.arraysize),
                 c.description, c.utype, c.unit, c.ucd, int(c.indexed), int(c.principal), int(c.std),
                 c.column_index if c.column_index is not None else i)
                for i, c in enumerate(table.columns)
            ],
        )


def publish_keys(conn: psycopg.Connection[Any], keys: Iterable[Key]) -> None:
    """Insert or replace foreign keys between published tables."""
    for key in keys:
        conn.execute("DELETE FROM tap_schema.keys WHERE key_id = %s", [key.key_id])
        conn.execute(
            "INSERT INTO tap_schema.keys (key_id, from_table, target_table, description, utype)"
            " VALUES (%s, %s, %s, %s, %s)",
            [key.key_id, key.from_table, key.target_table, key.description, key.utype],
        )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO tap_schema.key_columns (key_id, from_column, target_column) VALUES (%s, %s, %s)",
                [(key.key_id, f, t) for f, t in key.columns],
            )


def refresh_row_counts(conn: psycopg.Connection[Any], table_names: Iterable[str] | None = None) -> None:
    """Set ``tap_schema.tables.nrows`` to the exact count of the rows every caller may see, of each (or the given)
    table: rows of a private collection are not counted (``acl.public_row_count``, sql/0025)."""
    if table_names is None:
        rows = conn.execute("SELECT table_name FROM tap_schema.tables").fetchall()
        table_names = [r[0] for r in rows]
    for name in table_names:
        row = conn.execute("SELECT schema_name FROM tap_schema.tables WHERE table_name = %s", [name]).fetchone()
        if row is None:
            continue
        table = Table(schema_name=row[0], name=name)
        count = conn.execute("SELECT acl.public_row_count(%s, %s)", [table.db_schema, table.db_table]).fetchone()
        conn.execute("UPDATE tap_schema.tables SET nrows = %s WHERE table_name = %s",
                     [count[0] if count else 0, name])
