"""EXPLAIN proves that cone searches and crossmatches reach the GiST index on spoint(radians(ra), radians(dec)).

The fixture table is small, so sequential scans are disabled for the EXPLAIN: a predicate the index
cannot serve would still be planned as a (very expensive) sequential scan.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from jmmctap.adql import translate
from jmmctap.tapschema import TapSchema
from tests.adql.conftest import CONFORMANCE_DATA
from tests.support.shared import needs_shared

CONES = [
    "SELECT id FROM adqltest.points WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 10, 20, 0.5))",
    "SELECT id FROM adqltest.points WHERE CONTAINS(POINT(ra, dec), CIRCLE(10, 20, 0.5)) = 1",
    "SELECT id FROM adqltest.points WHERE DISTANCE(POINT(ra, dec), POINT(10, 20)) < 0.5",
    "SELECT id FROM adqltest.points WHERE DISTANCE(10, 20, ra, dec) <= 0.5",
    "SELECT id FROM adqltest.points WHERE 0.5 > DISTANCE(POINT(10, 20), POINT(ra, dec))",
    "SELECT id FROM adqltest.points WHERE 1 = INTERSECTS(POINT(ra, dec), CIRCLE(10, 20, 0.5))",
    "SELECT id FROM adqltest.points WHERE 1 = CONTAINS(POINT(ra, dec), POLYGON(9, 19, 11, 19, 11, 21, 9, 21))",
]


def _plan(conn: psycopg.Connection[Any], sql: str) -> str:
    with conn.transaction():
        conn.execute("SET LOCAL enable_seqscan = off")
        return "\n".join(r[0] for r in conn.execute("EXPLAIN " + sql))


@pytest.mark.parametrize("adql", CONES)
def test_cone_search_uses_the_positional_index(adql: str, adql_tap_schema: TapSchema,
                                               query_conn: psycopg.Connection[Any]) -> None:
    plan = _plan(query_conn, translate(adql, adql_tap_schema).sql)
    assert "points_pos" in plan, plan


def test_crossmatch_with_distance_in_the_join_uses_the_positional_index(adql_tap_schema: TapSchema,
                                                                        query_conn: psycopg.Connection[Any]) -> None:
    adql = ("SELECT a.id, b.id FROM adqltest.points AS a JOIN adqltest.points AS b"
            " ON DISTANCE(a.ra, a.dec, b.ra, b.dec) < 0.01 WHERE a.id < 20")
    plan = _plan(query_conn, translate(adql, adql_tap_schema).sql)
    assert "points_pos" in plan, plan


@needs_shared(CONFORMANCE_DATA)
def test_conformance_table_index_from_the_ingester_serves_cone_searches(adql_tap_schema: TapSchema,
                                                                         query_conn: psycopg.Connection[Any]) -> None:
    adql = "SELECT id FROM adql_conf.stars WHERE DISTANCE(POINT(ra, dec), POINT(279.23, 38.78)) < 0.01"
    plan = _plan(query_conn, translate(adql, adql_tap_schema).sql)
    assert "Index" in plan and "Seq Scan" not in plan, plan
