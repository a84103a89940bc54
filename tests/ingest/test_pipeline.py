"""ingest_files end to end: the conformance tables, modes, atomicity, the ingest log."""

from __future__ import annotations

from typing import Any

import psycopg

from jmmctap.ingest import ingest_files
from jmmctap.settings import Settings
from tests.conftest import SHARED

CONFORMANCE = SHARED / "conformance" / "data"


def test_conformance_stars_load_with_their_metadata(owner_conn: psycopg.Connection[Any], settings: Settings,
                                                   schema: str) -> None:
    report = ingest_files(owner_conn, [CONFORMANCE / "stars.vot"], f"{schema}.stars")
    assert report.rows == 60
    rows = owner_conn.execute(
        "SELECT column_name, datatype, unit, ucd FROM tap_schema.columns WHERE table_name = %s"
        " ORDER BY column_index", [f"{schema}.stars"]).fetchall()
    assert rows[2] == ("ra", "double", "deg", "pos.eq.ra;meta.main")
