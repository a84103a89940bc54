"""The query role can read TAP_SCHEMA and the published schemas, and nothing else."""

from __future__ import annotations

import psycopg
import pytest

FORBIDDEN = {
    "create_table": "CREATE TABLE jsdc.evil (x int)",
    "create_temp_table": "CREATE TEMP TABLE evil (x int)",
    "insert": "INSERT INTO tap_schema.schemas (schema_name) VALUES ('evil')",
    "update": "UPDATE tap_schema.tables SET description = 'evil'",
    "delete": "DELETE FROM tap_schema.columns",
    "read_internal_ingest_log": "SELECT * FROM jmmctap.ingest_log",
    "read_internal_secret": "SELECT * FROM jmmctap.secret",
    "read_internal_version": "SELECT * FROM jmmctap.schema_version",
    "pg_read_file": "SELECT pg_read_file('/etc/passwd')",
    "lo_import": "SELECT lo_import('/etc/passwd')",
    "copy_program": "COPY (SELECT 1) TO PROGRAM 'touch /tmp/jmmctap-pwned'",
    "copy_to_file": "COPY (SELECT 1) TO '/tmp/jmmctap-pwned'",
    "set_config_read_write": "SELECT set_config('default_transaction_read_only', 'off', false);"
                             " CREATE TABLE jsdc.evil2 (x int)",
}


@pytest.mark.parametrize("statement", FORBIDDEN.values(), ids=FORBIDDEN.keys())
def test_query_role_cannot(query_dsn: str, statement: str) -> None:
    with psycopg.connect(query_dsn, autocommit=True) as conn, pytest.raises(psycopg.Error):
        conn.execute(statement)


def test_query_role_cannot_write_even_in_a_read_write_transaction(query_dsn: str) -> None:
    with psycopg.connect(query_dsn) as conn:
        conn.execute("SET TRANSACTION READ WRITE")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO tap_schema.schemas (schema_name) VALUES ('evil')")


def test_query_role_reads_tap_schema(query_dsn: str) -> None:
    with psycopg.connect(query_dsn) as conn:
        rows = conn.execute("SELECT table_name FROM tap_schema.tables").fetchall()
    assert ("tap_schema.columns",) in rows


def test_query_role_sessions_are_read_only_with_a_timeout(query_dsn: str) -> None:
    with psycopg.connect(query_dsn) as conn:
        assert conn.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
        timeout = conn.execute("SHOW statement_timeout").fetchone()
    assert timeout is not None and timeout[0] not in ("0", "0ms")


def test_query_role_is_not_superuser(query_dsn: str) -> None:
    with psycopg.connect(query_dsn) as conn:
        row = conn.execute("SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles"
                           " WHERE rolname = current_user").fetchone()
    assert row == (False, False, False)


def test_query_role_sessions_do_not_jit_compile(query_dsn: str) -> None:
    """JIT compilation costs more than it saves on our queries (see db/migrate.py)."""
    with psycopg.connect(query_dsn) as conn:
        assert conn.execute("SHOW jit").fetchone() == ("off",)
