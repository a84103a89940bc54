"""EXPLAIN proves that cone searches and crossmatches reach the GiST index on spoint(radians(ra), radians(dec)).

The fixture table is small, so sequential scans are disabled for the EXPLAIN: a predicate the index
cannot serve would still be planned as a (very expensive) sequential scan.
"""

from __future__ import annotations

import math
from typing import Any

import psycopg
import pytest

from jmmctap.adql import translate
from jmmctap.tapschema import TapSchema
from tests.adql.conftest import CONFORMANCE_DATA, POINTS, TARGETS
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


CROSSMATCHES = {
    "contains_target_in_circle_around_star":
        "1 = CONTAINS(POINT(t.ra, t.dec), CIRCLE(p.ra, p.dec, 5. / 3600.))",
    "contains_star_in_circle_around_target":
        "CONTAINS(POINT('ICRS', p.ra, p.dec), CIRCLE('ICRS', t.ra, t.dec, 5. / 3600.)) = 1",
    "contains_with_a_point_centre": "1 = CONTAINS(POINT(t.ra, t.dec), CIRCLE(POINT(p.ra, p.dec), 5. / 3600.))",
    "intersects_circle_and_point": "1 = INTERSECTS(CIRCLE(p.ra, p.dec, 5. / 3600.), POINT(t.ra, t.dec))",
    "distance_target_first": "DISTANCE(POINT(t.ra, t.dec), POINT(p.ra, p.dec)) < 5. / 3600.",
    "distance_star_first": "DISTANCE(p.ra, p.dec, t.ra, t.dec) <= 5. / 3600.",
    "radius_greater_than_distance": "5. / 3600. > DISTANCE(POINT(t.ra, t.dec), POINT(p.ra, p.dec))",
}


def _crossmatch(condition: str) -> str:
    return f"SELECT t.tid, p.id FROM adqltest.sightings AS t JOIN adqltest.points AS p ON {condition}"


@pytest.mark.parametrize("condition", CROSSMATCHES.values(), ids=CROSSMATCHES.keys())
def test_crossmatch_probes_the_index_of_whichever_side_has_one(condition: str, adql_tap_schema: TapSchema,
                                                                query_conn: psycopg.Connection[Any]) -> None:
    """Only the stars are indexed: however the relation is written, the join probes their index.

    Before the relation was written both ways round, a point of the unindexed targets inside a
    circle around the stars could only be planned as a scan of every star for every target.
    """
    plan = _plan(query_conn, translate(_crossmatch(condition), adql_tap_schema).sql)
    assert "Index Cond" in plan and "points_pos" in plan, plan


@pytest.mark.parametrize("condition", CROSSMATCHES.values(), ids=CROSSMATCHES.keys())
def test_crossmatch_finds_exactly_the_pairs_within_the_radius(condition: str, adql_tap_schema: TapSchema,
                                                              query_conn: psycopg.Connection[Any]) -> None:
    expected = {(t.tid, p.id) for t in TARGETS for p in POINTS if _separation_deg(t.ra, t.dec, p.ra, p.dec) < 5 / 3600}
    rows = query_conn.execute(translate(_crossmatch(condition), adql_tap_schema).sql).fetchall()
    assert set(rows) == expected and len(rows) == len(expected)
    assert 10 < len(expected) < len(TARGETS)  # the fixture has pairs on both sides of the radius


def _separation_deg(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Great-circle distance (haversine), computed independently of pgsphere."""
    p1, p2, dra = math.radians(dec1), math.radians(dec2), math.radians(ra2 - ra1)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dra / 2) ** 2
    return math.degrees(2 * math.asin(min(1.0, math.sqrt(h))))


def test_cone_search_is_written_one_way_only(adql_tap_schema: TapSchema) -> None:
    """A constant circle needs no second containment: the cone's SQL stays a single ``<@``."""
    sql = translate(CONES[0], adql_tap_schema).sql
    assert sql.count("<@") == 1, sql


@needs_shared(CONFORMANCE_DATA)
def test_conformance_table_index_from_the_ingester_serves_cone_searches(adql_tap_schema: TapSchema,
                                                                         query_conn: psycopg.Connection[Any]) -> None:
    adql = "SELECT id FROM adql_conf.stars WHERE DISTANCE(POINT(ra, dec), POINT(279.23, 38.78)) < 0.01"
    plan = _plan(query_conn, translate(adql, adql_tap_schema).sql)
    assert "Index" in plan and "Seq Scan" not in plan, plan
