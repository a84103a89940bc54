"""Operator safety (issue 12 item 3): loader-owned tables need --force, ``drop`` unpublishes and drops."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from jmmctap.catalogues.catalogue_samples import TABLE_SAMPLES
from jmmctap.errors import NotFoundError
from jmmctap.ingest import IngestError, ingest_files
from jmmctap.ingest.drop import drop_table
from jmmctap.settings import Settings
from jmmctap.tapschema.declare import read_declarations
from jmmctap.tapschema.owners import is_loader_owned
from tests.conftest import server_env
from tests.ingest.conftest import drop_schema
from tests.ingest.helpers import write_votable
from tests.test_cli import assert_one_line_error, run_cli

LOADER_TABLES = ["jmdc.jmdc", "obsportal.exposures", "ivoa.obscore", "jsdc.jsdc_v2", "badcal.valid_stars",
                 "spica.spica_proto_wp5"]


def _published(conn: psycopg.Connection[Any], table: str) -> bool:
    return conn.execute("SELECT 1 FROM tap_schema.tables WHERE table_name = %s", [table]).fetchone() is not None


def _exists(conn: psycopg.Connection[Any], table: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [table]).fetchone()
    return row == (True,)


@pytest.fixture
def forced_table(owner_conn: psycopg.Connection[Any]) -> Iterator[str]:
    """A throw-away table in a loader's schema (spica), removed afterwards whatever happened."""
    name = "spica.operator_safety_test"
    yield name
    with owner_conn.transaction():
        owner_conn.execute("DELETE FROM tap_schema.tables WHERE table_name = %s", [name])
        owner_conn.execute("DROP TABLE IF EXISTS spica.operator_safety_test")


def test_every_table_a_loader_fills_is_loader_owned() -> None:
    declared = [(t.db_schema, t.db_table) for _, tables, _ in read_declarations() for t in tables
                if t.schema_name != "tap_schema"]  # PostgreSQL names: oidb_datalink is published unqualified
    samples = [tuple(s.table.split(".")) for s in TABLE_SAMPLES]
    for schema, table in [*declared, *samples, *(tuple(n.split(".")) for n in LOADER_TABLES)]:
        assert is_loader_owned(schema, table), f"{schema}.{table}"
    assert not is_loader_owned("ivoa", "my_products")  # ivoa is shared: only obscore is a loader's


@pytest.mark.parametrize("mode", ["create", "replace", "append"])
@pytest.mark.parametrize("table", LOADER_TABLES)
def test_the_generic_ingest_refuses_loader_tables(tmp_path: Path, owner_conn: psycopg.Connection[Any],
                                                  table: str, mode: str) -> None:
    before = owner_conn.execute("SELECT count(*) FROM jmmctap.ingest_log").fetchone()
    with pytest.raises(IngestError, match="--force") as refused:
        ingest_files(owner_conn, [write_votable(tmp_path / "t.vot", 3)], table, mode=mode)
    assert table in refused.value.message
    assert owner_conn.execute("SELECT count(*) FROM jmmctap.ingest_log").fetchone() == before


def test_force_allows_it_and_drop_needs_force_too(tmp_path: Path, owner_conn: psycopg.Connection[Any],
                                                  forced_table: str) -> None:
    report = ingest_files(owner_conn, [write_votable(tmp_path / "t.vot", 4)], forced_table, force=True)
    assert report.total_rows == 4
    with pytest.raises(IngestError, match="--force"):
        drop_table(owner_conn, forced_table)
    assert _published(owner_conn, forced_table) and _exists(owner_conn, forced_table)
    drop_table(owner_conn, forced_table, force=True)
    assert not _published(owner_conn, forced_table) and not _exists(owner_conn, forced_table)


def test_drop_removes_the_table_and_all_its_metadata(tmp_path: Path, owner_conn: psycopg.Connection[Any],
                                                     schema: str) -> None:
    table = f"{schema}.gone"
    ingest_files(owner_conn, [write_votable(tmp_path / "t.vot", 5)], table)
    drop_table(owner_conn, table)
    assert not _published(owner_conn, table) and not _exists(owner_conn, table)
    for metadata in ("columns", "column_origins", "table_params", "column_groups"):
        row = owner_conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE table_name = %s").format(
            sql.Identifier("tap_schema", metadata)), [table]).fetchone()
        assert row == (0,), metadata
    ingest_files(owner_conn, [write_votable(tmp_path / "t.vot", 2)], table)  # the name is free again


def test_drop_of_an_unknown_table_is_not_found(owner_conn: psycopg.Connection[Any], schema: str) -> None:
    with pytest.raises(NotFoundError, match=f"unknown table {schema}.nothing"):
        drop_table(owner_conn, f"{schema}.nothing")


def test_drop_refuses_reserved_schemas(owner_conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(IngestError, match="reserved"):
        drop_table(owner_conn, "tap_schema.tables")
    assert _published(owner_conn, "tap_schema.tables")


def test_cli_refusal_names_force(settings: Settings, tmp_path: Path) -> None:
    path = write_votable(tmp_path / "t.vot", 3)
    result = run_cli("ingest", str(path), "--table", "jmdc.jmdc", "--mode", "replace", env=server_env(settings))
    assert_one_line_error(result, "jmdc.jmdc", "--force")


def test_cli_drop_messages(settings: Settings) -> None:
    env = server_env(settings)
    assert_one_line_error(run_cli("drop", "nosuch_schema.nosuch_table", env=env), "unknown table")
    assert_one_line_error(run_cli("drop", "ivoa.obscore", env=env), "--force")
    assert_one_line_error(run_cli("drop", "not-a-name", env=env), "SCHEMA.TABLE")


@pytest.mark.slow
def test_dropped_table_vanishes_from_a_running_server_at_once(
    settings: Settings, live_server: str, owner_conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    table = "drop_live_test.t"
    drop_schema(owner_conn, "drop_live_test")
    env = server_env(settings)
    adql = {"LANG": "ADQL", "QUERY": f"SELECT COUNT(*) AS n FROM {table}", "RESPONSEFORMAT": "csv"}
    try:
        result = run_cli("ingest", str(write_votable(tmp_path / "t.vot", 6)), "--table", table, env=env)
        assert result.returncode == 0, result.stderr
        with httpx.Client(timeout=30) as client:
            assert client.post(f"{live_server}/sync", data=adql).text.split() == ["n", "6"]
            assert client.get(f"{live_server}/tables/{table}").status_code == 200
            result = run_cli("drop", table, env=env)
            assert result.returncode == 0, result.stderr
            assert f"{table}: unpublished and dropped" in result.stdout
            assert client.get(f"{live_server}/tables/{table}").status_code == 404
            assert table not in client.get(f"{live_server}/tables").text
            refused = client.post(f"{live_server}/sync", data=adql)
            assert refused.status_code == 400
            assert "drop_live_test" in refused.text
        assert not _exists(owner_conn, table)
    finally:
        drop_schema(owner_conn, "drop_live_test")
