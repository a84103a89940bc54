"""Fixtures of the ingest tests: a fresh schema per test, dropped (with its TAP_SCHEMA rows) afterwards."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

_COUNTER = itertools.count()


def drop_schema(conn: psycopg.Connection[Any], schema: str) -> None:
    """Remove a test schema, its tables and every TAP_SCHEMA row about it."""
    conn.execute("DELETE FROM tap_schema.tables WHERE schema_name = %s", [schema])
    conn.execute("DELETE FROM tap_schema.schemas WHERE schema_name = %s", [schema])
    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def schema(owner_conn: psycopg.Connection[Any]) -> Iterator[str]:
    """A unique schema name for one test (created by the ingest, dropped afterwards)."""
    name = f"ingest_test_{next(_COUNTER)}"
    drop_schema(owner_conn, name)
    yield name
    drop_schema(owner_conn, name)
