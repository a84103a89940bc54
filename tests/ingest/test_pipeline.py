"""ingest_files end to end: conformance tables, serializations, modes, atomicity, concurrent readers."""

from __future__ import annotations

import gzip
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest

from jmmctap.ingest import IngestError, ingest_files
from jmmctap.settings import Settings
from tests.conftest import server_env
from tests.ingest.helpers import write_votable
from tests.support.shared import SAMPLES, SHARED, needs_shared

CONFORMANCE = SHARED / "conformance" / "data"


def _count(conn: psycopg.Connection[Any], table: str) -> int:
    schema, name = table.split(".")
    row = conn.execute(f'SELECT count(*) FROM "{schema}"."{name}"').fetchone()  # test-controlled names
    return int(row[0]) if row else -1


@needs_shared(CONFORMANCE)
def test_conformance_tables_load_through_the_cli(settings: Settings, owner_conn: psycopg.Connection[Any]) -> None:
    owner_conn.execute("DELETE FROM tap_schema.tables WHERE schema_name = 'conf'")
    owner_conn.execute("DELETE FROM tap_schema.schemas WHERE schema_name = 'conf'")
    owner_conn.execute("DROP SCHEMA IF EXISTS conf CASCADE")
    for name in ("stars", "obs"):
        result = subprocess.run(
            [sys.executable, "-m", "jmmctap.cli", "ingest", str(CONFORMANCE / f"{name}.vot"),
             "--table", f"conf.{name}"],
            env=server_env(settings), capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert f"conf.{name}: " in result.stdout and "rows/s" in result.stdout
    assert _count(owner_conn, "conf.stars") == 60
    assert _count(owner_conn, "conf.obs") == 120
    types = dict(owner_conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'conf'"
        " AND table_name = 'stars'").fetchall())
    assert types == {"id": "integer", "name": "text", "ra": "double precision", "dec": "double precision",
                     "vmag": "real", "sptype": "text", "flags": "integer", "diam": "double precision",
                     "obs_date": "timestamp without time zone"}
    valid = owner_conn.execute("SELECT data_type FROM information_schema.columns WHERE table_schema = 'conf'"
                               " AND table_name = 'obs' AND column_name = 'valid'").fetchone()
    assert valid == ("boolean",)
    units = owner_conn.execute("SELECT column_name, unit, ucd FROM tap_schema.columns"
                               " WHERE table_name = 'conf.stars' ORDER BY column_index").fetchall()
    assert units[:4] == [("id", None, "meta.id;meta.main"), ("name", None, "meta.id"),
                         ("ra", "deg", "pos.eq.ra;meta.main"), ("dec", "deg", "pos.eq.dec;meta.main")]


@needs_shared(CONFORMANCE)
def test_conformance_table_is_readable_by_the_query_role(settings: Settings, query_dsn: str,
                                                        owner_conn: psycopg.Connection[Any], schema: str) -> None:
    ingest_files(owner_conn, [CONFORMANCE / "stars.vot"], f"{schema}.stars")
    with psycopg.connect(query_dsn) as conn:
        names = [r[0] for r in conn.execute(f"SELECT name FROM {schema}.stars WHERE name LIKE '%%Pup%%'")]
        nulls = conn.execute(f"SELECT count(*) FROM {schema}.stars WHERE vmag IS NULL").fetchone()
    assert "ζ Pup" in names
    assert nulls is not None and nulls[0] > 0


@pytest.mark.parametrize("serialization", ["tabledata", "binary", "binary2"])
def test_every_serialization_loads_the_same_values(tmp_path: Path, owner_conn: psycopg.Connection[Any],
                                                   schema: str, serialization: str) -> None:
    path = write_votable(tmp_path / f"t.{serialization}.vot", 50, serialization=serialization)
    report = ingest_files(owner_conn, [path], f"{schema}.t")
    assert report.rows == 50
    rows = owner_conn.execute(f"SELECT id, vmag, name, ok FROM {schema}.t ORDER BY id").fetchall()
    assert rows[0] == (0, None, "star 0 \"q\" 'a' θ", True)
    assert rows[1] == (1, 0.5, "star 1 \"q\" 'a' θ", False)
    assert sum(r[1] is None for r in rows) == 8


def test_gzipped_votable_loads(tmp_path: Path, owner_conn: psycopg.Connection[Any], schema: str) -> None:
    plain = write_votable(tmp_path / "t.vot", 20, serialization="binary2")
    packed = tmp_path / "t.vot.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert ingest_files(owner_conn, [packed], f"{schema}.t").rows == 20


def test_position_columns_get_the_pgsphere_index(tmp_path: Path, owner_conn: psycopg.Connection[Any],
                                                 schema: str) -> None:
    ingest_files(owner_conn, [write_votable(tmp_path / "t.vot", 30)], f"{schema}.t")
    indexdef = owner_conn.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = 't'",
                                  [schema]).fetchone()
    assert indexdef is not None and 'gist (spoint(radians(ra), radians("dec")))' in indexdef[0]
    indexed = owner_conn.execute("SELECT column_name FROM tap_schema.columns WHERE table_name = %s AND indexed = 1"
                                 " ORDER BY column_name", [f"{schema}.t"]).fetchall()
    assert indexed == [("dec",), ("ra",)]


def test_create_refuses_an_existing_table(tmp_path: Path, owner_conn: psycopg.Connection[Any], schema: str) -> None:
    path = write_votable(tmp_path / "t.vot", 5)
    ingest_files(owner_conn, [path], f"{schema}.t")
    with pytest.raises(IngestError, match="already exists"):
        ingest_files(owner_conn, [path], f"{schema}.t")


def test_append_adds_rows_of_several_files_and_checks_columns(tmp_path: Path, owner_conn: psycopg.Connection[Any],
                                                              schema: str) -> None:
    first = write_votable(tmp_path / "a.vot", 5)
    second = write_votable(tmp_path / "b.vot", 7, offset=5, serialization="binary2")
    third = write_votable(tmp_path / "c.vot", 3, offset=12)
    ingest_files(owner_conn, [first], f"{schema}.t")
    report = ingest_files(owner_conn, [second, third], f"{schema}.t", mode="append")
    assert (report.rows, report.total_rows) == (10, 15)
    assert owner_conn.execute("SELECT nrows FROM tap_schema.tables WHERE table_name = %s",
                              [f"{schema}.t"]).fetchone() == (15,)
    with pytest.raises(IngestError, match="columns differ"):
        ingest_files(owner_conn, [SAMPLES / "obsportal/obsportal-search-gravity.votable.xml"], f"{schema}.t",
                     mode="append")


def test_bad_value_names_row_and_column_and_leaves_nothing(tmp_path: Path, owner_conn: psycopg.Connection[Any],
                                                           schema: str) -> None:
    path = write_votable(tmp_path / "t.vot", 10)
    text = path.read_text()
    path.write_text(text.replace("<TD>7.31</TD>", "<TD>seven</TD>", 1))
    logged = owner_conn.execute("SELECT count(*) FROM jmmctap.ingest_log").fetchone()
    with pytest.raises(IngestError) as caught:
        ingest_files(owner_conn, [path], f"{schema}.t")
    assert "t.vot, row 2, column 'ra'" in caught.value.message and "seven" in caught.value.message
    assert owner_conn.execute("SELECT to_regnamespace(%s)", [schema]).fetchone() == (None,)
    assert owner_conn.execute("SELECT count(*) FROM jmmctap.ingest_log").fetchone() == logged


def test_failed_replace_keeps_the_old_table_and_metadata(tmp_path: Path, owner_conn: psycopg.Connection[Any],
                                                        schema: str) -> None:
    ingest_files(owner_conn, [write_votable(tmp_path / "a.vot", 10)], f"{schema}.t", description="old")
    broken = tmp_path / "b.vot"
    broken.write_text(write_votable(tmp_path / "c.vot", 10).read_text().replace("</TR>", "</TR", 5))
    with pytest.raises(IngestError, match="malformed XML"):
        ingest_files(owner_conn, [broken], f"{schema}.t", mode="replace", description="new")
    assert _count(owner_conn, f"{schema}.t") == 10
    assert owner_conn.execute("SELECT description FROM tap_schema.tables WHERE table_name = %s",
                              [f"{schema}.t"]).fetchone() == ("old",)


def test_ingest_is_logged_with_checksum(tmp_path: Path, owner_conn: psycopg.Connection[Any], schema: str) -> None:
    path = write_votable(tmp_path / "t.vot", 4)
    ingest_files(owner_conn, [path], f"{schema}.t")
    row = owner_conn.execute("SELECT mode, files, n_rows, checksums[1] FROM jmmctap.ingest_log WHERE table_name = %s"
                             " ORDER BY id DESC LIMIT 1", [f"{schema}.t"]).fetchone()
    assert row is not None and row[:3] == ("create", [str(path.resolve())], 4) and row[3].startswith("sha256:")


@pytest.mark.slow
def test_replace_is_invisible_to_a_reader_in_a_loop(tmp_path: Path, owner_conn: psycopg.Connection[Any],
                                                    query_dsn: str, schema: str) -> None:
    old = write_votable(tmp_path / "old.vot", 20_000, serialization="binary2")
    new = write_votable(tmp_path / "new.vot", 30_000, serialization="binary2", offset=100_000)
    ingest_files(owner_conn, [old], f"{schema}.t")
    seen: set[tuple[int, int]] = set()
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        with psycopg.connect(query_dsn, autocommit=True) as conn:
            while not stop.is_set():
                try:
                    row = conn.execute(f"SELECT count(*), min(id) FROM {schema}.t").fetchone()
                    ncols = conn.execute("SELECT count(*) FROM tap_schema.columns WHERE table_name = %s",
                                         [f"{schema}.t"]).fetchone()
                    assert row is not None and ncols == (6,)
                    seen.add((int(row[0]), int(row[1])))
                except BaseException as exc:
                    errors.append(exc)
                    return

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(2):
            ingest_files(owner_conn, [new], f"{schema}.t", mode="replace")
            ingest_files(owner_conn, [old], f"{schema}.t", mode="replace")
    finally:
        stop.set()
        reader.join(timeout=60)
    assert errors == []
    assert seen <= {(20_000, 0), (30_000, 100_000)}
    assert len(seen) == 2
