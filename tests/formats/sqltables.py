"""A query-role connection holding a temporary table of edge values, and the result types of a query:
shared by the tests of rows PostgreSQL builds (``formats.sqlrecords``, ``formats.sqltext``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg


@contextlib.contextmanager
def table_connection(query_dsn: str, create: str, table: str, rows: Sequence[str]) -> Iterator[
        psycopg.Connection[Any]]:
    """A connection where ``create`` made ``table`` and ``rows`` fill it (temporary: nothing outlives it)."""
    with psycopg.connect(query_dsn, autocommit=True) as connection:
        connection.execute("SET default_transaction_read_only = off")
        connection.execute(create.encode())
        connection.execute(f"INSERT INTO {table} VALUES {', '.join(rows)}".encode())
        yield connection


def result_types(conn: psycopg.Connection[Any], sql_text: str) -> list[int]:
    """The result's type OIDs (as ``query._result_types`` learns them, without running the query)."""
    cursor = conn.execute(f"SELECT * FROM ({sql_text}) AS q LIMIT 0".encode())
    assert cursor.description is not None
    return [c.type_code for c in cursor.description]
