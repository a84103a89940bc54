"""``drop_table``: unpublish a table from TAP_SCHEMA and drop it, in one transaction (``jmmctap drop``)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from jmmctap.errors import NotFoundError
from jmmctap.ingest import loader
from jmmctap.ingest.model import IngestError
from jmmctap.ingest.pipeline import check_not_loader_owned, parse_target
from jmmctap.tapschema.publish import unpublish_table

__all__ = ["drop_table"]


def drop_table(conn: psycopg.Connection[Any], table: str, *, force: bool = False) -> None:
    """Remove ``SCHEMA.TABLE`` from TAP_SCHEMA (columns, keys, ingest metadata) and drop it.

    One transaction: running servers see the table and its metadata vanish together (their next
    query checks the TAP_SCHEMA generation). The schema stays, even when empty.

    Parameters
    ----------
    conn
        Owner-role connection, not inside a transaction.
    table
        ``SCHEMA.TABLE`` as given to ``jmmctap ingest``.
    force
        Also drop a table a catalogue loader owns.

    Raises
    ------
    IngestError
        Reserved schema, a loader-owned table without ``force``, or a view.
    NotFoundError
        Neither published nor in the database.
    """
    target = parse_target(table)
    if not force:
        check_not_loader_owned(target, "drop")
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [target.table_name])  # as an ingest does
        published = conn.execute("SELECT 1 FROM tap_schema.tables WHERE table_name = %s",
                                 [target.table_name]).fetchone() is not None
        kind = conn.execute(
            "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relname = %s", [target.db_schema, target.db_table]).fetchone()
        if not published and kind is None:
            raise NotFoundError(f"unknown table {target.table_name}: not published in TAP_SCHEMA"
                                " and not in the database")
        if kind is not None and kind[0] not in ("r", "p"):
            raise IngestError(f"{target.table_name} is not a table (a view or another relation); drop it with psql")
        unpublish_table(conn, target.table_name)  # ingest metadata rows cascade
        if kind is not None:
            conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(target.db_schema, target.db_table)))
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(
                sql.Identifier(target.db_schema, loader.staging_name(target.db_table))))
