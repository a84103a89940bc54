"""Database layout: versioned migrations, idempotent init, TAP_SCHEMA matching the real tables."""

from __future__ import annotations

from typing import Any

import psycopg

from jmmctap.db.migrate import available_migrations, init_database, schema_version
from jmmctap.settings import Settings
from jmmctap.tapschema import load_tap_schema

PUBLISHED = {"tap_schema", "obsportal", "ivoa", "jsdc", "jmdc", "badcal", "spica"}


def test_schema_version_is_the_latest_migration(owner_conn: psycopg.Connection[Any]) -> None:
    assert schema_version(owner_conn) == max(m.version for m in available_migrations())


def test_init_is_idempotent(settings: Settings, owner_conn: psycopg.Connection[Any]) -> None:
    before = owner_conn.execute("SELECT count(*) FROM tap_schema.columns").fetchone()
    assert init_database(settings) == []
    assert owner_conn.execute("SELECT count(*) FROM tap_schema.columns").fetchone() == before


def test_pgsphere_is_installed(owner_conn: psycopg.Connection[Any]) -> None:
    row = owner_conn.execute(
        "SELECT spoint(radians(10), radians(20)) <@ scircle(spoint(radians(10), radians(20.5)), radians(1))"
    ).fetchone()
    assert row == (True,)


def test_published_schemas_are_listed(owner_conn: psycopg.Connection[Any]) -> None:
    names = {r[0] for r in owner_conn.execute("SELECT schema_name FROM tap_schema.schemas")}
    assert names >= PUBLISHED


def test_internal_schemas_are_not_published(owner_conn: psycopg.Connection[Any]) -> None:
    names = {r[0] for r in owner_conn.execute("SELECT schema_name FROM tap_schema.schemas")}
    assert "jmmctap" not in names


def test_every_published_column_exists_in_postgresql(owner_conn: psycopg.Connection[Any]) -> None:
    tap = load_tap_schema(owner_conn)
    actual = {
        (s, t, c)
        for s, t, c in owner_conn.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns"
        )
    }
    missing = [
        (table.name, column.name)
        for table in tap.tables
        for column in table.columns
        if (table.db_schema, table.db_table, column.db_name) not in actual
    ]
    assert missing == []


def test_a_migration_numbered_below_the_latest_is_still_applied(
    settings: Settings, owner_conn: psycopg.Connection[Any]
) -> None:
    """Work merged from parallel branches can add 0007 after 0016 was applied somewhere."""
    owner_conn.execute("ALTER TABLE tap_schema.table_params RENAME COLUMN param_value TO value")
    owner_conn.execute("DELETE FROM jmmctap.schema_version WHERE version = 7")
    applied = init_database(settings)
    assert [m.version for m in applied] == [7]
    row = owner_conn.execute("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'tap_schema'"
                             " AND table_name = 'table_params' AND column_name = 'param_value'").fetchone()
    assert row == (1,)
