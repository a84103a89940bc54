"""Read TAP_SCHEMA from the database into a ``TapSchema`` (sync for the CLI, async for the server).

All reads, the generation counter (sql/0019) included, run in one REPEATABLE READ transaction: the
copy and its generation number describe the same committed state, so a later comparison of the
number tells exactly whether the copy is stale.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import psycopg

from jmmctap.tapschema.model import Column, Key, Schema, Table, TapSchema

__all__ = ["GENERATION_QUERY", "LSN_QUERY", "load_tap_schema", "load_tap_schema_async"]

GENERATION_QUERY = "SELECT generation FROM tap_schema.generation"
"""The current TAP_SCHEMA generation (readable by the owner and the query role)."""

LSN_QUERY = (
    "SELECT coalesce(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_flush_lsn() END"
    " - '0/0'::pg_lsn, 0)::bigint")
"""This server's WAL position as a number: flushed on a primary, replayed on a standby (any role may read it)."""

_SNAPSHOT = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"

_QUERIES = (
    "SELECT schema_name, description, utype, schema_index FROM tap_schema.schemas"
    " ORDER BY schema_index NULLS LAST, schema_name",
    "SELECT schema_name, table_name, table_type, description, utype, table_index, nrows"
    " FROM tap_schema.tables ORDER BY table_index NULLS LAST, table_name",
    "SELECT table_name, column_name, datatype, arraysize, xtype, description, utype, unit, ucd,"
    " indexed, principal, std, column_index FROM tap_schema.columns"
    " ORDER BY table_name, column_index NULLS LAST, column_name",
    "SELECT k.key_id, k.from_table, k.target_table, k.description, k.utype,"
    " coalesce(array_agg(c.from_column ORDER BY c.from_column) FILTER (WHERE c.key_id IS NOT NULL), '{}'),"
    " coalesce(array_agg(c.target_column ORDER BY c.from_column) FILTER (WHERE c.key_id IS NOT NULL), '{}')"
    " FROM tap_schema.keys k LEFT JOIN tap_schema.key_columns c USING (key_id)"
    " GROUP BY k.key_id ORDER BY k.key_id",
    # before sql/0019 is applied (a server started on an old database) the generation is 0
    "SELECT CASE WHEN to_regclass('tap_schema.generation') IS NULL THEN 0 ELSE"
    " (SELECT generation FROM tap_schema.generation) END",
    # whether this role may read the table grants of sql/0025 (the owner; the query role sees TAP_SCHEMA
    # through row-level security instead, already without what its principal may not see)
    "SELECT CASE WHEN to_regclass('acl.table_grant') IS NULL THEN false"
    " ELSE has_table_privilege('acl.table_grant', 'SELECT') END",
    # relations under row-level security (pg_class is readable by every role)
    "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relrowsecurity",
    # read last, after the snapshot: a WAL position that includes every commit the copy shows (a replica must
    # have replayed it to answer queries with this copy, ``db.replicas``); on a standby, what it has replayed
    LSN_QUERY,
)

_GRANTS = "SELECT table_name, array_agg(group_name ORDER BY group_name) FROM acl.table_grant GROUP BY table_name"


def load_tap_schema(conn: psycopg.Connection[Any]) -> TapSchema:
    """Read TAP_SCHEMA over a synchronous connection (in its own transaction, or the caller's)."""
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        return _read(conn)
    with conn.transaction():
        conn.execute(_SNAPSHOT)
        return _read(conn)


def _read(conn: psycopg.Connection[Any]) -> TapSchema:
    schemas, tables, columns, keys, generation, readable, secured, lsn = [
        conn.execute(q).fetchall() for q in _QUERIES]
    grants = conn.execute(_GRANTS).fetchall() if readable[0][0] else []
    return _build(schemas, tables, columns, keys, generation, grants, secured, lsn)


async def load_tap_schema_async(conn: psycopg.AsyncConnection[Any]) -> TapSchema:
    """Read TAP_SCHEMA over an asynchronous connection: in one snapshot, or in the caller's transaction."""
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        return await _read_async(conn)
    async with conn.transaction():
        await conn.execute(_SNAPSHOT)
        return await _read_async(conn)


async def _read_async(conn: psycopg.AsyncConnection[Any]) -> TapSchema:
    schemas, tables, columns, keys, generation, readable, secured, lsn = [
        await (await conn.execute(q)).fetchall() for q in _QUERIES]
    grants = await (await conn.execute(_GRANTS)).fetchall() if readable[0][0] else []
    return _build(schemas, tables, columns, keys, generation, grants, secured, lsn)


def _build(
    schemas: list[tuple[Any, ...]],
    tables: list[tuple[Any, ...]],
    columns: list[tuple[Any, ...]],
    keys: list[tuple[Any, ...]],
    generation: list[tuple[Any, ...]],
    grants: list[tuple[Any, ...]],
    secured: list[tuple[Any, ...]],
    lsn: list[tuple[Any, ...]],
) -> TapSchema:
    by_table: dict[str, list[Column]] = defaultdict(list)
    for (table_name, name, datatype, arraysize, xtype, description, utype, unit, ucd,
         indexed, principal, std, column_index) in columns:
        by_table[table_name].append(Column(
            table_name=table_name, name=name, datatype=datatype, arraysize=arraysize, xtype=xtype,
            description=description, utype=utype, unit=unit, ucd=ucd, indexed=bool(indexed),
            principal=bool(principal), std=bool(std), column_index=column_index,
        ))
    published = tuple(
        Table(schema_name, name, table_type, description, utype, index, nrows, tuple(by_table[name]))
        for schema_name, name, table_type, description, utype, index, nrows in tables
    )
    relations = {(schema, name) for schema, name in secured}
    return TapSchema(
        schemas=tuple(Schema(name, description, utype, index) for name, description, utype, index in schemas),
        tables=published,
        keys=tuple(
            Key(key_id, from_table, target_table, tuple(zip(from_cols, target_cols, strict=True)),
                description, utype)
            for key_id, from_table, target_table, description, utype, from_cols, target_cols in keys
        ),
        generation=int(generation[0][0]),
        grants={name: frozenset(groups) for name, groups in grants},
        row_secured=frozenset(t.name for t in published if (t.db_schema, t.db_table) in relations),
        lsn=int(lsn[0][0]),
    )
