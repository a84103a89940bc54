"""translate(): result metadata for the serializers, referenced tables, uploads, positions of errors."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from jmmctap.adql import Translation, translate
from jmmctap.errors import AdqlError
from jmmctap.results import ResultColumn
from jmmctap.tapschema import Column, Table, TapSchema


def test_plain_columns_carry_their_tap_schema_metadata(adql_tap_schema: TapSchema) -> None:
    translation = translate("SELECT ra, mag AS m FROM adqltest.points", adql_tap_schema)
    assert translation.columns == (
        ResultColumn("ra", "double", unit="deg", ucd="pos.eq.ra;meta.main", description="RA"),
        ResultColumn("m", "float", unit="mag", ucd="phot.mag", description="magnitude"),
    )
    assert translation.tables == frozenset({"adqltest.points"})
    assert isinstance(translation, Translation) and translation.adql.startswith("SELECT ra")


def test_geometries_and_timestamps_are_described_as_dali_values(adql_tap_schema: TapSchema) -> None:
    translation = translate("SELECT pos, CIRCLE(pos, 1) AS c, POLYGON(1, 1, 2, 1, 2, 2) AS p, seen,"
                            " CAST('2020-01-01' AS TIMESTAMP) AS t FROM adqltest.points", adql_tap_schema)
    described = [(c.name, c.datatype, c.arraysize, c.xtype) for c in translation.columns]
    assert described == [("pos", "double", "2", "point"), ("c", "double", "3", "circle"),
                         ("p", "double", "*", "polygon"), ("seen", "char", "*", "timestamp"),
                         ("t", "char", "*", "timestamp")]


def test_computed_columns_get_types_postgresql_really_returns(adql_tap_schema: TapSchema,
                                                              query_conn: psycopg.Connection[Any]) -> None:
    adql = ("SELECT COUNT(*) AS n, SUM(flags) AS s, AVG(id) AS a, MAX(mag) AS mx, id / 2 AS q, mag * 2 AS m2,"
            " mag * mag AS mm, ROUND(id, -1) AS r, CAST(id AS SMALLINT) + CAST(1 AS SMALLINT) AS sm,"
            " DISTANCE(ra, dec, 1, 2) AS d, LOWER(name) AS l, CONTAINS(POINT(ra, dec), CIRCLE(1, 2, 3)) AS c"
            " FROM adqltest.points GROUP BY id, mag, name, ra, dec")
    translation = translate(adql, adql_tap_schema)
    pg_types = {"long": "bigint", "int": "integer", "short": "smallint", "double": "double precision",
                "float": "real", "char": "text"}
    typeof = ", ".join(f'pg_typeof("{c.name}")::text' for c in translation.columns)
    with query_conn.transaction():
        row = query_conn.execute(f"SELECT {typeof} FROM ({translation.sql}) AS t LIMIT 1").fetchone()
    assert row is not None
    assert list(row) == [pg_types[c.datatype] for c in translation.columns]
    assert [c.unit for c in translation.columns][3] == "mag"


def test_upload_tables_resolve_like_published_ones(adql_tap_schema: TapSchema) -> None:
    upload = Table("TAP_UPLOAD", "TAP_UPLOAD.mine", columns=(Column("TAP_UPLOAD.mine", "ra", "double", unit="deg"),))
    translation = translate("SELECT m.ra FROM tap_upload.mine AS m JOIN adqltest.points AS p"
                            " ON DISTANCE(m.ra, 0, p.ra, p.dec) < 1", adql_tap_schema, extra_tables=[upload])
    assert '"TAP_UPLOAD"."mine" AS "m"' in translation.sql
    assert translation.tables == frozenset({"TAP_UPLOAD.mine", "adqltest.points"})
    with pytest.raises(AdqlError, match="unknown table"):
        translate("SELECT * FROM tap_upload.mine", adql_tap_schema)


def test_errors_on_later_lines_report_their_line(adql_tap_schema: TapSchema) -> None:
    with pytest.raises(AdqlError) as info:
        translate("SELECT id,\n       nope\nFROM adqltest.points", adql_tap_schema)
    assert (info.value.line, info.value.column) == (2, 8)
    with pytest.raises(AdqlError) as info:
        translate("SELECT id\nFROM adqltest.points\nWHERE id = = 1", adql_tap_schema)
    assert (info.value.line, info.value.column) == (3, 12)
    assert "  WHERE id = = 1\n             ^" in info.value.message


def test_region_columns_declared_as_text_come_out_as_stc_s(adql_tap_schema: TapSchema,
                                                           owner_conn: psycopg.Connection[Any]) -> None:
    region = Column("TAP_UPLOAD.r", "s_region", "char", arraysize="*", xtype="adql:REGION")
    upload = Table("TAP_UPLOAD", "TAP_UPLOAD.r", columns=(region,))
    translation = translate("SELECT s_region, AREA(s_region) AS a FROM TAP_UPLOAD.r WHERE"
                            " 1 = INTERSECTS(s_region, CIRCLE(10, 10, 1))", adql_tap_schema, extra_tables=[upload])
    assert [(c.datatype, c.xtype) for c in translation.columns] == [("char", "adql:REGION"), ("double", None)]
    with owner_conn.transaction():  # an upload-like table (the query role cannot create one)
        owner_conn.execute("CREATE TEMPORARY TABLE r (s_region spoly) ON COMMIT DROP")
        owner_conn.execute("INSERT INTO r VALUES (spoly '{(9d, 9d), (11d, 9d), (11d, 11d)}')")
        sql = translation.sql.replace('"TAP_UPLOAD"."r"', '"r"')
        rows = owner_conn.execute(sql).fetchall()
    assert len(rows) == 1 and rows[0][0].startswith("Polygon ICRS 9")
    assert [round(float(x), 6) for x in rows[0][0].split()[2:]] == [9, 9, 11, 9, 11, 11]
