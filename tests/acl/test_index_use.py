"""Row-level security and plans: cone searches on ``ivoa.obscore`` keep the positional index.

A policy makes PostgreSQL evaluate it before any condition whose functions are not LEAKPROOF, and so
keeps such conditions out of index scans. Two measures keep cone searches fast: RLS is enabled on
``ivoa.obscore`` only while a private collection exists (``acl.protect_table``), and ``db init`` declares
the functions of cone searches and crossmatches leakproof when it runs as a superuser (``acl.leakproof``; the embedded
cluster always does). Sequential scans are disabled for the EXPLAIN: the fixture table is small.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from jmmctap.acl import store
from jmmctap.adql import translate
from jmmctap.auth import Principal
from jmmctap.settings import Settings
from jmmctap.tapschema import TapSchema, load_tap_schema
from tests.acl.conftest import ALICE, BOB
from tests.support.principals import principal_session

CONE = ("SELECT obs_id FROM ivoa.obscore"
        " WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 97.07, -13.05, 0.1))")
POLYGON_CONE = ("SELECT obs_id FROM ivoa.obscore"
                " WHERE 1 = CONTAINS(POINT(s_ra, s_dec), POLYGON(96, -14, 98, -14, 98, -12, 96, -12))")
TIME = "SELECT obs_id FROM ivoa.obscore WHERE t_min BETWEEN 56000 AND 57000"
COLLECTION = "SELECT obs_id FROM ivoa.obscore WHERE obs_collection = 'pionier_public'"


@pytest.fixture
def tap_schema(acl_conn: psycopg.Connection[Any]) -> TapSchema:
    return load_tap_schema(acl_conn)


def _plan(settings: Settings, who: Principal, adql: str, tap_schema: TapSchema) -> str:
    with principal_session(settings, who) as conn:
        conn.execute("SET LOCAL enable_seqscan = off")
        return "\n".join(r[0] for r in conn.execute("EXPLAIN " + translate(adql, tap_schema).sql))


def _row_security(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT relrowsecurity FROM pg_class WHERE oid = 'ivoa.obscore'::regclass").fetchone()
    return bool(row and row[0])


@pytest.fixture
def all_public(acl_conn: psycopg.Connection[Any]) -> Iterator[None]:
    """Both private collections made public for the test, private again after it."""
    store.set_collection(acl_conn, "team_private", private=False)
    store.set_collection(acl_conn, "solo_private", private=False)
    try:
        yield
    finally:
        store.set_collection(acl_conn, "team_private", private=True)
        store.set_collection(acl_conn, "solo_private", private=True)


@pytest.mark.parametrize("who", [BOB, ALICE], ids=["bob", "alice"])
def test_without_a_private_collection_cone_searches_use_the_positional_index(
        acl_settings: Settings, acl_conn: psycopg.Connection[Any], all_public: None, tap_schema: TapSchema,
        who: Principal) -> None:
    assert not _row_security(acl_conn)
    assert "obscore_position" in _plan(acl_settings, who, CONE, tap_schema)


CROSSMATCH = ("SELECT a.obs_id, b.obs_id FROM ivoa.obscore AS a JOIN ivoa.obscore AS b"
              " ON DISTANCE(POINT(a.s_ra, a.s_dec), POINT(b.s_ra, b.s_dec)) < 0.01 WHERE a.target_name = 'HD33802'")


@pytest.mark.parametrize(("adql", "index"), [(CONE, "obscore_position"), (POLYGON_CONE, "obscore_position"),
                                             (CROSSMATCH, "obscore_position"), (TIME, "obscore_time"),
                                             (COLLECTION, "obscore_collection")])
def test_while_a_private_collection_exists_searches_still_use_their_index(
        acl_settings: Settings, acl_conn: psycopg.Connection[Any], tap_schema: TapSchema, adql: str,
        index: str) -> None:
    assert _row_security(acl_conn)
    plan = _plan(acl_settings, BOB, adql, tap_schema)
    assert "InitPlan" in plan, plan  # the caller's rights are computed once per query
    probes = [line for line in plan.splitlines() if "Index Cond" in line or f"Index Scan using {index}" in line
              or f"Bitmap Index Scan on {index}" in line]
    assert any(index in line for line in probes) and any("Index Cond" in line for line in probes), plan


def test_the_last_private_collection_made_public_turns_row_security_off(acl_conn: psycopg.Connection[Any]) -> None:
    store.set_collection(acl_conn, "team_private", private=False)
    try:
        assert _row_security(acl_conn)  # solo_private is still private
        store.set_collection(acl_conn, "solo_private", private=False)
        assert not _row_security(acl_conn)
    finally:
        store.set_collection(acl_conn, "team_private", private=True)
        store.set_collection(acl_conn, "solo_private", private=True)
    assert _row_security(acl_conn)


def test_only_the_functions_of_a_cone_search_are_declared_leakproof(acl_conn: psycopg.Connection[Any]) -> None:
    rows = acl_conn.execute("SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid"
                            " JOIN pg_extension e ON e.oid = d.refobjid WHERE e.extname = 'pg_sphere'"
                            " AND p.proleakproof ORDER BY 1").fetchall()
    assert [r[0] for r in rows] == ["spoint(double precision,double precision)",
                                    "spoint_contained_by_circle(spoint,scircle)",
                                    "spoly_contains_point_com(spoint,spoly)"]
    for ours in ("radians(float8)", "jmmctap_adql.join_circle(spoint, float8)"):
        assert acl_conn.execute("SELECT proleakproof FROM pg_proc WHERE oid = %s::regprocedure",
                                [ours]).fetchone() == (True,)
    assert acl_conn.execute("SELECT proleakproof FROM pg_proc WHERE oid = 'scircle(spoint, float8)'::regprocedure"
                            ).fetchone() == (False,)  # checks its radius: a column fed to it would be an oracle


def test_a_cone_search_restricted_to_a_private_collection_neither_errs_nor_finds(
        acl_settings: Settings, tap_schema: TapSchema) -> None:
    with principal_session(acl_settings, BOB) as conn:
        sql = translate(CONE + " AND obs_collection = 'team_private'", tap_schema).sql
        assert conn.execute(sql).fetchall() == []
    with principal_session(acl_settings, ALICE) as conn:
        assert len(conn.execute(sql).fetchall()) == 1
