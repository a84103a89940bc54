"""Issue 13.8: large but valid queries run; the user's mistakes are 400s that say what is wrong, over HTTP too."""

from __future__ import annotations

import math
from typing import Any

import httpx
import psycopg
import pytest

from jmmctap.adql import translate
from jmmctap.adql.polygons import MAX_CHECKED_VERTICES, MAX_VERTICES
from jmmctap.adql.queries import MAX_COLUMNS
from jmmctap.errors import AdqlError
from jmmctap.tapschema import TapSchema


def _regular_polygon(vertices: int, radius: float = 1.0) -> tuple[str, float]:
    """ADQL POLYGON around (10, 20) (degrees), and the area of the plane polygon inscribed in its circle."""
    coords = []
    for i in range(vertices):
        angle = 2 * math.pi * i / vertices
        coords += [10 + radius * math.cos(angle) / math.cos(math.radians(20)), 20 + radius * math.sin(angle)]
    area = vertices / 2 * radius**2 * math.sin(2 * math.pi / vertices)
    return "POLYGON(" + ", ".join(repr(c) for c in coords) + ")", area


@pytest.mark.parametrize("vertices", [150, MAX_CHECKED_VERTICES + 1, MAX_VERTICES])
def test_polygons_over_a_hundred_vertices_run(vertices: int, adql_tap_schema: TapSchema,
                                              query_conn: psycopg.Connection[Any]) -> None:
    polygon, plane_area = _regular_polygon(vertices)
    translation = translate(f"SELECT TOP 1 AREA({polygon}) FROM adqltest.points", adql_tap_schema)
    with query_conn.transaction():
        row = query_conn.execute(translation.sql).fetchone()
    assert row is not None
    assert row[0] == pytest.approx(plane_area, rel=1e-3)  # a 1-degree polygon is nearly flat


def test_a_polygon_over_pgspheres_limit_is_refused(adql_tap_schema: TapSchema) -> None:
    polygon, _ = _regular_polygon(MAX_VERTICES + 1)
    with pytest.raises(AdqlError, match=f"{MAX_VERTICES + 1} vertices; at most {MAX_VERTICES}"):
        translate(f"SELECT TOP 1 AREA({polygon}) FROM adqltest.points", adql_tap_schema)


def test_a_polygon_of_computed_vertices_over_a_hundred_runs(adql_tap_schema: TapSchema,
                                                            query_conn: psycopg.Connection[Any]) -> None:
    offsets = [(math.cos(2 * math.pi * i / 120), math.sin(2 * math.pi * i / 120)) for i in range(120)]
    points = ", ".join(f"POINT(ra + {dx!r}, dec / 2 + {dy!r})" for dx, dy in offsets)
    translation = translate(f"SELECT id, AREA(POLYGON({points})) AS a FROM adqltest.points WHERE id = 12",
                            adql_tap_schema)
    with query_conn.transaction():
        rows = query_conn.execute(translation.sql).fetchall()
    assert len(rows) == 1 and rows[0][1] > 0


@pytest.mark.parametrize(("columns", "ok"), [(MAX_COLUMNS, True), (MAX_COLUMNS + 1, False)])
def test_at_most_1664_columns(columns: int, ok: bool, adql_tap_schema: TapSchema,
                              query_conn: psycopg.Connection[Any]) -> None:
    query = "SELECT TOP 1 " + ", ".join(["id"] * columns) + " FROM adqltest.points WHERE id = 3"
    if not ok:
        with pytest.raises(AdqlError, match=f"{columns} columns; a query can have at most {MAX_COLUMNS}"):
            translate(query, adql_tap_schema)
        return
    translation = translate(query, adql_tap_schema)
    assert [c.name for c in translation.columns][:3] == ["id", "id_2", "id_3"]
    with query_conn.transaction():
        assert query_conn.execute(translation.sql).fetchone() == (3,) * columns


@pytest.mark.parametrize(("query", "message"), [
    ("SELECT flags, COUNT(*) AS n FROM adqltest.points GROUP BY 0", "GROUP BY 0: there are 2 output columns"),
    ("SELECT TOP 1 AREA(POLYGON(1, 1, 1, 1, 1, 1)) FROM adqltest.points", "at least three distinct vertices"),
    ("SELECT TOP 1 CAST(ra AS VARCHAR(9999999999)) FROM adqltest.points", "between 1 and 10485760"),
    ("SELECT TOP 1 0x10g FROM adqltest.points", "0x10g is not a number"),
])
async def test_mistakes_are_clear_400s_over_http(query: str, message: str, adql_tap_schema: TapSchema,
                                                client: httpx.AsyncClient) -> None:
    response = await client.post("/tap/sync", data={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query})
    assert response.status_code == 400
    assert message in response.text and "could not be executed" not in response.text


async def test_a_hex_literal_is_its_integer_over_http(adql_tap_schema: TapSchema, client: httpx.AsyncClient) -> None:
    response = await client.post("/tap/sync", data={"REQUEST": "doQuery", "LANG": "ADQL", "RESPONSEFORMAT": "csv",
                                                    "QUERY": "SELECT TOP 1 0x10 FROM adqltest.points"})
    assert response.status_code == 200
    header, value = response.text.splitlines()[:2]
    assert value == "16" and "x10" not in header


async def test_a_degenerate_polygon_of_column_values_is_a_clear_400(adql_tap_schema: TapSchema,
                                                                   client: httpx.AsyncClient) -> None:
    query = "SELECT AREA(POLYGON(POINT(ra, dec), POINT(ra, dec), POINT(ra, dec))) FROM adqltest.points WHERE id = 5"
    response = await client.post("/tap/sync", data={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query})
    assert response.status_code == 400
    assert "invalid geometry" in response.text and "could not be executed" not in response.text
