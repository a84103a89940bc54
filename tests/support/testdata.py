"""Published test tables for the TAP endpoints: ``testdata.numbers`` and the 10M-row ``testdata.series``.

``numbers`` (20,000 rows) is larger than one fetch batch, so a row that fails late fails after
streaming began. ``series`` is a view over generate_series: ten million rows without storage.
"""

from __future__ import annotations

from typing import Any

import psycopg

from jmmctap.tapschema import Column, Schema, Table
from jmmctap.tapschema.publish import publish_schema, publish_table, refresh_row_counts

NUMBERS_ROWS = 20_000
SERIES_ROWS = 10_000_000


def create_testdata(conn: psycopg.Connection[Any], query_role: str) -> None:
    """Create and publish the test tables (idempotent)."""
    with conn.transaction():
        if conn.execute("SELECT to_regclass('testdata.numbers')").fetchone() != (None,):
            return
        publish_schema(conn, Schema("testdata", "Tables for the tests of the TAP endpoints."), query_role)
        conn.execute("CREATE TABLE testdata.numbers (n integer PRIMARY KEY, x double precision, label text,"
                     " ra double precision, dec double precision)")
        conn.execute("INSERT INTO testdata.numbers SELECT g, g * 0.25, 'n' || g, (g * 0.018) %% 360,"
                     " ((g * 0.37) %% 170) - 85 FROM generate_series(1, %s) AS g", [NUMBERS_ROWS])
        conn.execute(f"CREATE VIEW testdata.series AS SELECT g::bigint AS n, g * 0.5 AS x, 'row ' || g AS label"
                     f" FROM generate_series(1, {SERIES_ROWS}) AS g")
        publish_table(conn, Table("testdata", "testdata.numbers", description="Numbers 1 to 20000", columns=(
            Column("testdata.numbers", "n", "int", ucd="meta.id;meta.main", description="the number"),
            Column("testdata.numbers", "x", "double", unit="m", description="n / 4"),
            Column("testdata.numbers", "label", "char", arraysize="*", description="'n' and the number"),
            Column("testdata.numbers", "ra", "double", unit="deg", ucd="pos.eq.ra;meta.main"),
            Column("testdata.numbers", "dec", "double", unit="deg", ucd="pos.eq.dec;meta.main"),
        )), query_role)
        publish_table(conn, Table("testdata", "testdata.series", table_type="view",
                                  description="Ten million generated rows", columns=(
            Column("testdata.series", "n", "long"), Column("testdata.series", "x", "double"),
            Column("testdata.series", "label", "char", arraysize="*"),
        )), query_role)
        refresh_row_counts(conn, ["testdata.numbers"])
