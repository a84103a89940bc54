"""Who may have a product file: decided by PostgreSQL (sql/0030) for the signed principal, at a clock the
tests set. Released files are everyone's; an embargoed one is its data PI's, its delegated co-Is' and its
collection's members'; a private collection's files are its groups'."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest
from starlette.applications import Starlette

from jmmctap.acl import store as acl_store
from jmmctap.auth import ANONYMOUS, Principal
from jmmctap.context import context_of
from jmmctap.products.access import read_file_access, read_granule_links
from tests.products.conftest import ACHERNAR_FILE, AFTER_RELEASE, AMBER_FILE, MATISSE_FILE, RELEASE, stored_key

ALICE = Principal("alice", frozenset({"teamA"}))
BOB = Principal("bob", frozenset({"teamB"}))
CAROL = Principal("carol")
DAVE = Principal("dave")
WHO = {"anonymous": ANONYMOUS, "alice": ALICE, "bob": BOB, "carol": CAROL, "dave": DAVE}


async def _access(app: Starlette, conn: psycopg.Connection[Any], file_name: str, who: str,
                  at: datetime | None = None) -> str:
    pools = context_of(app).pools
    found = await read_file_access(pools, WHO[who], stored_key(conn, file_name), at, label="test", client="test")
    return found.access


@pytest.mark.parametrize(("file_name", "expected"), [
    (ACHERNAR_FILE.name, {"anonymous": "open", "alice": "open", "bob": "open", "carol": "open", "dave": "open"}),
    (MATISSE_FILE.name, {"anonymous": "closed", "alice": "closed", "bob": "closed", "carol": "open", "dave": "closed"}),
    (AMBER_FILE.name, {"anonymous": "closed", "alice": "open", "bob": "closed", "carol": "closed", "dave": "closed"}),
], ids=["released", "embargoed", "private"])
async def test_each_caller_gets_the_files_the_database_opens_to_it(
        products_app: Starlette, products_conn: psycopg.Connection[Any], file_name: str,
        expected: dict[str, str]) -> None:
    assert {who: await _access(products_app, products_conn, file_name, who) for who in WHO} == expected


async def test_a_co_i_gets_the_embargoed_file_while_the_data_pi_delegates_to_him(
        products_app: Starlette, products_conn: psycopg.Connection[Any]) -> None:
    acl_store.add_delegation(products_conn, acl_store.Delegation("carol", "dave"))
    assert await _access(products_app, products_conn, MATISSE_FILE.name, "dave") == "open"
    assert await _access(products_app, products_conn, MATISSE_FILE.name, "bob") == "closed"
    products_conn.execute("DELETE FROM acl.delegation")
    assert await _access(products_app, products_conn, MATISSE_FILE.name, "dave") == "closed"


async def test_a_delegation_limited_to_another_collection_opens_nothing(
        products_app: Starlette, products_conn: psycopg.Connection[Any]) -> None:
    acl_store.add_delegation(products_conn, acl_store.Delegation("carol", "dave", collection="elsewhere"))
    assert await _access(products_app, products_conn, MATISSE_FILE.name, "dave") == "closed"


async def test_the_members_of_the_collection_get_its_embargoed_files(
        products_app: Starlette, products_conn: psycopg.Connection[Any]) -> None:
    acl_store.set_collection(products_conn, "samples_eso", groups=["teamB"])
    try:
        assert await _access(products_app, products_conn, MATISSE_FILE.name, "bob") == "open"
        assert await _access(products_app, products_conn, MATISSE_FILE.name, "anonymous") == "closed"
    finally:
        products_conn.execute("DELETE FROM acl.collection WHERE name = 'samples_eso'")


async def test_an_embargoed_file_is_everyones_after_its_release_date(
        products_app: Starlette, products_conn: psycopg.Connection[Any]) -> None:
    after = datetime.fromisoformat(AFTER_RELEASE)
    before = RELEASE - timedelta(seconds=1)
    assert await _access(products_app, products_conn, MATISSE_FILE.name, "anonymous", before) == "closed"
    assert await _access(products_app, products_conn, MATISSE_FILE.name, "anonymous", after) == "open"
    assert await _access(products_app, products_conn, AMBER_FILE.name, "anonymous", after) == "closed"  # private


async def test_a_file_no_granule_holds_is_unknown(products_app: Starlette) -> None:
    found = await read_file_access(context_of(products_app).pools, ANONYMOUS, "0" * 64, None, label="t", client="t")
    assert found.access == "unknown"


async def test_the_relatives_of_a_granule_are_only_those_the_caller_may_see(
        products_app: Starlette, products_conn: psycopg.Connection[Any]) -> None:
    pools = context_of(products_app).pools
    amber_l0 = products_conn.execute(
        "SELECT obs_publisher_did FROM ivoa.obscore WHERE calib_level = 0 AND obs_id LIKE 'AMBER.2013-04-15%'"
    ).fetchone()
    assert amber_l0 is not None
    for who, products in (("bob", []), ("alice", ["team_private"])):
        granules, relatives = await read_granule_links(pools, WHO[who], [amber_l0[0]], None, label="t", client="t")
        assert [g.open for g in granules] == [True]
        collections = [products_conn.execute("SELECT obs_collection FROM ivoa.obscore WHERE obs_publisher_did = %s",
                                             [r.obs_publisher_did]).fetchone()[0] for r in relatives]  # type: ignore[index]
        assert collections == products, who
