"""Row-level security and plans: public-only ``ivoa.obscore`` keeps every index; conditions on leakproof
operators keep theirs while a private collection exists.

A policy makes PostgreSQL evaluate it before any condition whose functions are not LEAKPROOF, and so
keeps such conditions out of index scans; pgSphere's (``spoint``, ``<@``) and ``radians`` are not
leakproof (``radians`` can raise an underflow error). So RLS is enabled on ``ivoa.obscore`` only while a
private collection exists (``acl.protect_table``): OiDB's collections are public, their cone searches keep
the GiST index. Sequential scans are disabled for the EXPLAIN: the fixture table is small.
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


@pytest.mark.parametrize(("adql", "index"), [(TIME, "obscore_time"), (COLLECTION, "obscore_collection")])
def test_while_a_private_collection_exists_leakproof_conditions_use_their_index(
        acl_settings: Settings, acl_conn: psycopg.Connection[Any], tap_schema: TapSchema, adql: str,
        index: str) -> None:
    assert _row_security(acl_conn)
    plan = _plan(acl_settings, BOB, adql, tap_schema)
    assert index in plan and "InitPlan" in plan, plan  # the caller's rights are computed once per query


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
