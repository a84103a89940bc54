"""Which tables are catalogs of the catalog API: ``jmmctap catalog expose|unexpose|list|audit`` (owner connection).

A catalog is a published table, its key column (unique: ``expose`` adds a unique index when the column has
none) and its PI columns, whose values (``/``-separated names) say whose each row is. The declarations live in
``catalog_api.catalog`` (sql/0032), read by the server at each request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from jmmctap.acl.store import resolve_table_name
from jmmctap.errors import NotFoundError, UsageError
from jmmctap.tapschema import Column, Identifier, Table, load_tap_schema

__all__ = [
    "AuditEntry", "CatalogDeclaration", "expose_catalog", "list_audit", "list_catalogs", "resolve_table_name",
    "unexpose_catalog",
]


@dataclass(frozen=True)
class CatalogDeclaration:
    """A table editable through the catalog API: TAP_SCHEMA name, key and PI columns (PostgreSQL names)."""

    table_name: str
    key_column: str
    pi_columns: tuple[str, ...]


@dataclass(frozen=True)
class AuditEntry:
    """One change made through the catalog API (``catalog_api.audit``)."""

    id: int
    changed_at: datetime
    user_name: str
    table_name: str
    row_key: str | None
    action: str
    old_values: dict[str, Any] | None
    new_values: dict[str, Any]


def expose_catalog(conn: psycopg.Connection[Any], name: str, key: str,
                   pi_columns: Sequence[str]) -> CatalogDeclaration:
    """Declare (or re-declare) ``name`` a catalog with key column ``key`` and PI columns ``pi_columns``.

    Raises
    ------
    UsageError
        The table is not published, a column is unknown, or the key column has NULL or duplicate values.
    """
    if not pi_columns:
        raise UsageError("name at least one --pi-column")
    table_name, published = resolve_table_name(conn, name)
    table = load_tap_schema(conn).table(table_name)
    if not published or table is None:
        raise UsageError(f"{name} is not a published table (ingest it first)")
    key_column = _column(table, key).db_name
    pis = tuple(dict.fromkeys(_column(table, c).db_name for c in pi_columns))
    relation = sql.Identifier(table.db_schema, table.db_table)
    with conn.transaction():
        _require_unique_key(conn, table, relation, key_column)
        conn.execute(
            "INSERT INTO catalog_api.catalog (table_name, key_column, pi_columns) VALUES (%s, %s, %s)"
            " ON CONFLICT (table_name) DO UPDATE SET key_column = excluded.key_column,"
            " pi_columns = excluded.pi_columns, exposed_at = now()",
            [table_name, key_column, list(pis)],
        )
    return CatalogDeclaration(table_name, key_column, pis)


def unexpose_catalog(conn: psycopg.Connection[Any], name: str) -> str:
    """Stop exposing ``name`` (its rows and audit stay); returns its TAP_SCHEMA name.

    Raises
    ------
    NotFoundError
        It was not a catalog.
    """
    table_name, _ = resolve_table_name(conn, name)
    with conn.transaction():
        if conn.execute("DELETE FROM catalog_api.catalog WHERE table_name = %s", [table_name]).rowcount == 0:
            raise NotFoundError(f"{table_name} is not a catalog")
    return table_name


def list_catalogs(conn: psycopg.Connection[Any]) -> list[CatalogDeclaration]:
    """Every declared catalog, by name."""
    rows = conn.execute("SELECT table_name, key_column, pi_columns FROM catalog_api.catalog ORDER BY table_name")
    return [CatalogDeclaration(t, k, tuple(p)) for t, k, p in rows.fetchall()]


def list_audit(conn: psycopg.Connection[Any], table_name: str | None = None, limit: int = 100) -> list[AuditEntry]:
    """The latest changes (of one catalog when named), newest first."""
    rows = conn.execute(
        "SELECT id, changed_at, user_name, table_name, row_key, action, old_values, new_values"
        " FROM catalog_api.audit WHERE %(t)s::text IS NULL OR table_name = %(t)s ORDER BY id DESC LIMIT %(n)s",
        {"t": table_name, "n": limit},
    ).fetchall()
    return [AuditEntry(*row) for row in rows]


def _column(table: Table, name: str) -> Column:
    found = [c for c in table.columns if c.db_name == name] or table.find_columns(Identifier.parse(name))
    if len(found) != 1:
        known = ", ".join(c.db_name for c in table.columns)
        raise UsageError(f"{table.name} has {'several columns' if found else 'no column'} {name!r} (columns: {known})")
    return found[0]


def _require_unique_key(conn: psycopg.Connection[Any], table: Table, relation: sql.Identifier, key: str) -> None:
    """Refuse a key with NULLs or duplicates; add a unique index unless one covers exactly the key."""
    column = sql.Identifier(key)
    row = conn.execute(sql.SQL("SELECT count(*) FILTER (WHERE {c} IS NULL), count(*) - count(DISTINCT {c}) FROM {t}")
                       .format(c=column, t=relation)).fetchone()
    if row is not None and row[0]:
        raise UsageError(f"the key column {key} of {table.name} has {row[0]} NULL values")
    if row is not None and row[1]:
        raise UsageError(f"the key column {key} of {table.name} has {row[1]} duplicate values")
    unique = conn.execute(
        "SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
        " WHERE i.indrelid = %s::regclass AND i.indisunique AND i.indnkeyatts = 1 AND a.attname = %s",
        [relation.as_string(conn), key],
    ).fetchone()
    if unique is None:
        conn.execute(sql.SQL("CREATE UNIQUE INDEX {i} ON {t} ({c})").format(
            i=sql.Identifier(f"{table.db_table}_{key}_catalog_key"[:63]), t=relation, c=column))
