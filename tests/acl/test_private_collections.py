"""Private collections: rows only their groups, data PIs and delegated co-Is see, through every way of querying."""

from __future__ import annotations

import io
import time
from typing import Any

import httpx
import psycopg
import pytest
from astropy.io.votable import from_table, parse_single_table, writeto
from astropy.table import Table
from lxml import etree
from starlette.applications import Starlette

from jmmctap.acl import store
from jmmctap.auth import ANONYMOUS, Principal
from tests.acl.conftest import ALICE, BOB, CAROL, COUNT, DAVE, ERIN, MATISSE_PROGID, OUTSIDERS, PUBLIC_ROWS
from tests.support.principals import query_as, run_job_as

PUBLIC = {"pionier_public": PUBLIC_ROWS}


def _counts(table: Table) -> dict[str, int]:
    return {str(row["obs_collection"]): int(row["n"]) for row in table}


async def _seen(app: Starlette, principal: Principal) -> dict[str, int]:
    return _counts(await query_as(app, principal, COUNT))


@pytest.mark.parametrize("who", OUTSIDERS.values(), ids=OUTSIDERS.keys())
async def test_outsiders_see_only_public_rows_in_sync_queries(acl_app: Starlette, who: Principal) -> None:
    assert await _seen(acl_app, who) == PUBLIC
    total = await query_as(acl_app, who, "SELECT COUNT(*) AS n FROM ivoa.obscore")
    assert int(total["n"][0]) == PUBLIC_ROWS
    named = await query_as(acl_app, who, "SELECT obs_id FROM ivoa.obscore WHERE obs_collection IN"
                                         " ('team_private', 'solo_private') OR target_name = 'HD45677'")
    assert len(named) == 0


async def test_group_members_see_their_private_collection_only(acl_app: Starlette) -> None:
    assert await _seen(acl_app, ALICE) == {**PUBLIC, "team_private": 2}


async def test_the_data_pi_sees_its_rows(acl_app: Starlette) -> None:
    assert await _seen(acl_app, CAROL) == {**PUBLIC, "team_private": 2}


async def test_a_delegated_coi_sees_the_pis_rows_until_the_delegation_is_removed(
        acl_app: Starlette, acl_conn: psycopg.Connection[Any]) -> None:
    assert await _seen(acl_app, DAVE) == PUBLIC
    store.add_delegation(acl_conn, store.Delegation("carol", "dave"))
    assert await _seen(acl_app, DAVE) == {**PUBLIC, "team_private": 2}
    assert await _seen(acl_app, BOB) == PUBLIC  # nobody else
    assert store.remove_delegation(acl_conn, store.Delegation("carol", "dave"))
    assert await _seen(acl_app, DAVE) == PUBLIC


async def test_a_delegation_can_be_limited_to_a_progid_or_a_collection(
        acl_app: Starlette, acl_conn: psycopg.Connection[Any]) -> None:
    store.add_delegation(acl_conn, store.Delegation("carol", "dave", progid=MATISSE_PROGID))
    rows = await query_as(acl_app, DAVE, "SELECT target_name FROM ivoa.obscore WHERE obs_collection = 'team_private'")
    assert list(rows["target_name"]) == ["HD45677"]
    store.add_delegation(acl_conn, store.Delegation("carol", "dave", collection="solo_private"))
    assert await _seen(acl_app, DAVE) == {**PUBLIC, "team_private": 1}  # carol has no row there
    store.add_delegation(acl_conn, store.Delegation("carol", "dave", collection="team_private"))
    assert await _seen(acl_app, DAVE) == {**PUBLIC, "team_private": 2}


async def test_a_data_pi_name_links_a_user_to_rows_and_its_delegations_follow(
        acl_app: Starlette, acl_conn: psycopg.Connection[Any]) -> None:
    assert await _seen(acl_app, ERIN) == PUBLIC
    store.add_data_pi(acl_conn, "erin", "Erin Smith")
    assert await _seen(acl_app, ERIN) == {**PUBLIC, "solo_private": 1}
    store.add_delegation(acl_conn, store.Delegation("erin", "dave"))
    assert await _seen(acl_app, DAVE) == {**PUBLIC, "solo_private": 1}
    assert await _seen(acl_app, ALICE) == {**PUBLIC, "team_private": 2}  # a group of another collection is no key


JOB_CALLERS = [(ANONYMOUS, PUBLIC), (BOB, PUBLIC), (ALICE, {**PUBLIC, "team_private": 2})]


@pytest.mark.parametrize(("who", "expected"), JOB_CALLERS, ids=["anonymous", "bob", "alice"])
async def test_async_jobs_run_for_their_owner_and_groups(acl_app: Starlette, who: Principal,
                                                         expected: dict[str, int]) -> None:
    job, rows = await run_job_as(acl_app, who, COUNT)
    assert job.phase == "COMPLETED" and rows is not None
    assert job.owner_groups == (who.groups if who.name else frozenset())
    assert _counts(rows) == expected


def _positions() -> bytes:
    """The targets of the private granules (and one public), as a client would upload them."""
    table = Table({"name": ["HD45677", "V838_Mon", "ACHERNAR", "HD33802"],
                   "ra": [97.071446, 106.020179, 24.428882, 78.074793],
                   "dec": [-13.05308, -3.84754, -57.23684, -11.86934]})
    out = io.BytesIO()
    writeto(from_table(table), out)
    return out.getvalue()


UPLOAD_JOIN = ("SELECT u.name, o.obs_collection FROM TAP_UPLOAD.targets AS u JOIN ivoa.obscore AS o"
               " ON 1 = CONTAINS(POINT('ICRS', o.s_ra, o.s_dec), CIRCLE('ICRS', u.ra, u.dec, 0.01)) ORDER BY u.name")


@pytest.mark.parametrize("who", OUTSIDERS.values(), ids=OUTSIDERS.keys())
async def test_upload_joins_never_reach_private_rows(acl_app: Starlette, who: Principal) -> None:
    for rows in (await query_as(acl_app, who, UPLOAD_JOIN, uploads={"targets": _positions()}),
                 (await run_job_as(acl_app, who, UPLOAD_JOIN, uploads={"targets": _positions()}))[1]):
        assert rows is not None
        assert {str(c) for c in rows["obs_collection"]} == {"pionier_public"}


async def test_upload_joins_reach_the_rows_the_caller_may_see(acl_app: Starlette) -> None:
    rows = await query_as(acl_app, ALICE, UPLOAD_JOIN, uploads={"targets": _positions()})
    assert sorted({(str(r["name"]), str(r["obs_collection"])) for r in rows}) == [
        ("HD33802", "pionier_public"), ("HD45677", "team_private"), ("V838_Mon", "team_private")]


NROWS = "SELECT nrows FROM TAP_SCHEMA.tables WHERE table_name = 'ivoa.obscore'"


@pytest.mark.parametrize("who", [ANONYMOUS, BOB, ALICE, CAROL], ids=["anonymous", "bob", "alice", "carol"])
async def test_tap_schema_nrows_counts_only_the_rows_everyone_sees(acl_app: Starlette, who: Principal) -> None:
    """A count never includes rows some caller cannot see (members see more rows than it says)."""
    assert list((await query_as(acl_app, who, NROWS))["nrows"]) == [PUBLIC_ROWS]


async def test_vosi_tables_and_health_count_only_public_rows(acl_client: httpx.AsyncClient) -> None:
    tables = etree.fromstring((await acl_client.get("/tap/tables/ivoa.obscore")).content)
    assert tables.findtext("nrows") == str(PUBLIC_ROWS)
    health = (await acl_client.get("/health")).json()
    ivoa = next(s for s in health["schemas"] if s["name"] == "ivoa")
    assert {t["name"]: t["rows"] for t in ivoa["tables"]}["ivoa.obscore"] == PUBLIC_ROWS


async def test_anonymous_http_sync_and_async_see_only_public_rows(acl_client: httpx.AsyncClient) -> None:
    data = {"LANG": "ADQL", "QUERY": COUNT, "FORMAT": "votable"}
    sync = await acl_client.post("/tap/sync", data=data)
    assert _counts(parse_single_table(io.BytesIO(sync.content)).to_table()) == PUBLIC
    created = await acl_client.post("/tap/async", data={**data, "PHASE": "RUN"})
    url = created.headers["location"]
    deadline = time.monotonic() + 60
    while (phase := (await acl_client.get(url + "/phase")).text) not in ("COMPLETED", "ERROR"):
        assert time.monotonic() < deadline
        await acl_client.get(url, params={"WAIT": "5"})
    assert phase == "COMPLETED"
    result = await acl_client.get(url + "/results/result")
    assert _counts(parse_single_table(io.BytesIO(result.content)).to_table()) == PUBLIC


async def test_a_collection_made_public_is_seen_and_counted_by_everyone(
        acl_app: Starlette, acl_conn: psycopg.Connection[Any]) -> None:
    try:
        store.set_collection(acl_conn, "solo_private", private=False)
        assert await _seen(acl_app, BOB) == {**PUBLIC, "solo_private": 1}
        assert list((await query_as(acl_app, BOB, NROWS))["nrows"]) == [PUBLIC_ROWS + 1]
    finally:
        store.set_collection(acl_conn, "solo_private", private=True)
    assert await _seen(acl_app, BOB) == PUBLIC
    assert list((await query_as(acl_app, BOB, NROWS))["nrows"]) == [PUBLIC_ROWS]


OIDB_COUNT = "SELECT t.obs_collection, COUNT(*) AS n FROM oidb AS t GROUP BY t.obs_collection ORDER BY t.obs_collection"
"""OiDB's clients query the view oidb.oidb (sql/0031): the same rules must hold through it."""


@pytest.mark.parametrize("who", OUTSIDERS.values(), ids=OUTSIDERS.keys())
async def test_outsiders_see_no_private_row_through_the_oidb_view(acl_app: Starlette, who: Principal) -> None:
    assert _counts(await query_as(acl_app, who, OIDB_COUNT)) == PUBLIC
    named = await query_as(acl_app, who, "SELECT t.id FROM oidb AS t WHERE t.obs_collection IN"
                                         " ('team_private', 'solo_private') OR t.target_name = 'HD45677'")
    assert len(named) == 0


async def test_members_see_their_private_rows_through_the_oidb_view_as_proprietary(acl_app: Starlette) -> None:
    assert _counts(await query_as(acl_app, ALICE, OIDB_COUNT)) == {**PUBLIC, "team_private": 2}
    rights = await query_as(acl_app, ALICE, "SELECT DISTINCT obs_collection, data_rights FROM oidb")
    # released long ago, but a private collection's rows are not public
    assert {(str(c), str(r)) for c, r in rights} == {("pionier_public", "public"), ("team_private", "proprietary")}
