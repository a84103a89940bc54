"""Parallel ingests (issue 13 item 7), as real ``jmmctap ingest`` processes on one database."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from jmmctap.settings import Settings
from tests.conftest import server_env
from tests.ingest.conftest import drop_schema
from tests.ingest.helpers import write_votable

SCHEMAS = ("parallel_a", "parallel_b")


@pytest.fixture
def clean(owner_conn: psycopg.Connection[Any]) -> Iterator[None]:
    for schema in SCHEMAS:
        drop_schema(owner_conn, schema)
    yield
    for schema in SCHEMAS:
        drop_schema(owner_conn, schema)


def _start(settings: Settings, path: Path, table: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "jmmctap.cli", "ingest", str(path), "--table", table],
                            env=server_env(settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    _, stderr = process.communicate(timeout=300)
    return process.returncode, stderr


@pytest.mark.slow
def test_eight_parallel_ingests_into_different_tables_all_succeed(
    settings: Settings, owner_conn: psycopg.Connection[Any], tmp_path: Path, clean: None
) -> None:
    """Both schemas are new: four processes race to create each, and to grant it to the query role."""
    tables = [f"{SCHEMAS[i % 2]}.t{i}" for i in range(8)]
    files = [write_votable(tmp_path / f"t{i}.vot", 10 + i) for i in range(8)]
    processes = [_start(settings, path, table) for path, table in zip(files, tables, strict=True)]
    outcomes = [_finish(p) for p in processes]
    assert [(code, err) for code, err in outcomes if code != 0] == []
    published = {r[0]: r[1] for r in owner_conn.execute(
        "SELECT table_name, nrows FROM tap_schema.tables WHERE schema_name = ANY(%s)", [list(SCHEMAS)])}
    assert published == {table: 10 + i for i, table in enumerate(tables)}


@pytest.mark.slow
def test_two_creates_of_one_table_one_wins_the_other_is_told_why(
    settings: Settings, owner_conn: psycopg.Connection[Any], tmp_path: Path, clean: None
) -> None:
    table = f"{SCHEMAS[0]}.same"
    files = [write_votable(tmp_path / f"s{i}.vot", 20 + i) for i in range(2)]
    outcomes = sorted(_finish(p) for p in [_start(settings, path, table) for path in files])
    assert [code for code, _ in outcomes] == [0, 1]
    refusal = outcomes[1][1]
    assert "Traceback" not in refusal
    assert f"jmmctap: error: table {table} already exists (use --mode replace or append)" in refusal
    row = owner_conn.execute("SELECT nrows FROM tap_schema.tables WHERE table_name = %s", [table]).fetchone()
    assert row is not None and row[0] in (20, 21)
