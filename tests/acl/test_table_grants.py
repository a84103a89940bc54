"""Tables granted to groups: invisible to everyone else, exactly as if they did not exist."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from astropy.io.votable import from_table, writeto
from astropy.table import Table
from lxml import etree
from starlette.applications import Starlette

from jmmctap.acl import store
from jmmctap.acl.principal import personal_group
from jmmctap.auth import ANONYMOUS, Principal
from jmmctap.catalogues.jsdc_ingest import JsdcFile, ingest_jsdc_files
from jmmctap.context import context_of
from jmmctap.errors import UsageError
from jmmctap.ingest import ingest_files
from jmmctap.ingest.drop import drop_table
from jmmctap.settings import Settings
from tests.acl.conftest import ALICE, BOB, OUTSIDERS
from tests.support.principals import cone_search_as, principal_session, query_as
from tests.support.shared import SAMPLES

SECRET = "scratch.plans"
"""A table ingested by each test (dropped after it), granted to teamA."""


def _plans_votable(tmp_path: Path) -> Path:
    path = tmp_path / "plans.vot"
    writeto(from_table(Table({"target": ["HD45677", "V838_Mon"], "ra": [97.071446, 106.020179],
                              "dec": [-13.05308, -3.84754]})), str(path))
    return path


@pytest.fixture
def plans(acl_conn: psycopg.Connection[Any], acl_settings: Settings, tmp_path: Path) -> Iterator[Path]:
    """``scratch.plans`` ingested (2 rows); the VOTable it came from."""
    source = _plans_votable(tmp_path)
    ingest_files(acl_conn, [source], SECRET, query_role=acl_settings.query_role)
    yield source
    with psycopg.connect(acl_conn.info.dsn, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM tap_schema.tables WHERE table_name = %s", [SECRET]).fetchone():
            drop_table(conn, SECRET)


async def _error(app: Starlette, who: Principal, adql: str) -> str:
    with pytest.raises(UsageError) as info:
        await query_as(app, who, adql)
    return info.value.message


QUERIES = [
    f"SELECT TOP 1 * FROM {SECRET}",
    "SELECT p.target FROM scratch.plans AS p",
    'SELECT COUNT(*) FROM "scratch"."plans"',
    "SELECT target FROM plans",
    "SELECT o.obs_id FROM ivoa.obscore AS o JOIN scratch.plans AS p ON o.target_name = p.target",
]


@pytest.mark.parametrize("adql", QUERIES)
async def test_a_granted_table_is_unknown_to_others_with_the_error_of_a_missing_table(
        acl_app: Starlette, acl_conn: psycopg.Connection[Any], plans: Path, adql: str) -> None:
    assert len(await query_as(acl_app, ALICE, f"SELECT * FROM {SECRET}")) == 2  # before the grant, anyone
    store.grant_table(acl_conn, SECRET, ["teamA"])
    assert len(await query_as(acl_app, ALICE, adql)) >= 1
    hidden = {name: await _error(acl_app, who, adql) for name, who in OUTSIDERS.items()}
    drop_table(acl_conn, SECRET)  # the grant stays: the same name ingested again would be private at once
    missing = await _error(acl_app, ALICE, adql)
    assert "unknown table" in missing
    assert hidden == {name: missing for name in OUTSIDERS}


async def test_the_error_over_http_is_the_same_document_as_for_a_missing_table(
        acl_client: httpx.AsyncClient, acl_conn: psycopg.Connection[Any], plans: Path) -> None:
    store.grant_table(acl_conn, SECRET, ["teamA"])
    data = {"LANG": "ADQL", "QUERY": f"SELECT * FROM {SECRET}"}
    hidden = await acl_client.post("/tap/sync", data=data)
    table = await acl_client.get(f"/tap/tables/{SECRET}")
    drop_table(acl_conn, SECRET)
    missing = await acl_client.post("/tap/sync", data=data)
    assert (hidden.status_code, hidden.content) == (missing.status_code, missing.content) and hidden.status_code == 400
    assert table.status_code == 404 and table.content == (await acl_client.get(f"/tap/tables/{SECRET}")).content


async def test_a_granted_table_is_absent_from_vosi_tables_health_and_examples(
        acl_client: httpx.AsyncClient, acl_conn: psycopg.Connection[Any], acl_settings: Settings) -> None:
    ingest_jsdc_files(acl_conn, [JsdcFile(SAMPLES / "jsdc" / "getstar-Sirius.vot", 1)])
    store.grant_table(acl_conn, "jsdc.jsdc_v2", ["teamA"])
    tableset = etree.fromstring((await acl_client.get("/tap/tables")).content)
    names = {t.findtext("name") for t in tableset.iter("table")}
    assert "jsdc.jsdc_v2" not in names and "ivoa.obscore" in names
    assert "jsdc" not in {s.findtext("name") for s in tableset.iter("schema")}  # its only table is hidden
    health = (await acl_client.get("/health")).json()
    assert "jsdc" not in {s["name"] for s in health["schemas"]}
    assert "jsdc.jsdc_v2" not in {i["table"] for i in health["last_ingests"]}
    assert b"jsdc" not in (await acl_client.get("/tap/examples")).content.lower()
    store.make_table_public(acl_conn, "jsdc.jsdc_v2")
    assert "jsdc.jsdc_v2" in {t.findtext("name")
                              for t in etree.fromstring((await acl_client.get("/tap/tables")).content).iter("table")}


TAP_SCHEMA_ROWS = {
    "schemas": "SELECT COUNT(*) AS n FROM tap_schema.schemas WHERE schema_name = 'scratch'",
    "tables": f"SELECT COUNT(*) AS n FROM tap_schema.tables WHERE table_name = '{SECRET}'",
    "columns": f"SELECT COUNT(*) AS n FROM tap_schema.columns WHERE table_name = '{SECRET}'",
    "column_origins": f"SELECT COUNT(*) AS n FROM tap_schema.column_origins WHERE table_name = '{SECRET}'",
    "table_params": f"SELECT COUNT(*) AS n FROM tap_schema.table_params WHERE table_name = '{SECRET}'",
}


async def test_tap_schema_queries_show_a_granted_table_to_its_groups_only(
        acl_app: Starlette, acl_conn: psycopg.Connection[Any], plans: Path) -> None:
    store.grant_table(acl_conn, SECRET, ["teamA"])
    for name, adql in TAP_SCHEMA_ROWS.items():
        seen = int((await query_as(acl_app, ALICE, adql))["n"][0])
        assert seen > 0 or name == "table_params", name
        for who in OUTSIDERS.values():
            assert int((await query_as(acl_app, who, adql))["n"][0]) == 0, (name, who)


def test_postgresql_itself_hides_the_rows_of_a_granted_table(acl_settings: Settings,
                                                             acl_conn: psycopg.Connection[Any], plans: Path) -> None:
    """Defence in depth: SQL that named the table (not ADQL: the binder refuses it) reads no row."""
    store.grant_table(acl_conn, SECRET, ["teamA"])
    for who, rows, listed in ((ALICE, 2, 1), (BOB, 0, 0), (ANONYMOUS, 0, 0)):
        with principal_session(acl_settings, who) as conn:
            assert conn.execute("SELECT count(*) FROM scratch.plans").fetchone() == (rows,)
            assert conn.execute("SELECT count(*) FROM tap_schema.tables WHERE table_name = %s",
                                [SECRET]).fetchone() == (listed,)
    store.make_table_public(acl_conn, SECRET)
    with principal_session(acl_settings, BOB) as conn:
        assert conn.execute("SELECT count(*) FROM scratch.plans").fetchone() == (2,)
    flags = acl_conn.execute("SELECT relrowsecurity FROM pg_class WHERE oid = 'scratch.plans'::regclass").fetchone()
    assert flags == (False,)  # no policy left to slow the table down


def test_a_table_granted_before_its_ingest_is_never_public_and_stays_private_when_replaced(
        acl_settings: Settings, acl_conn: psycopg.Connection[Any], tmp_path: Path) -> None:
    store.grant_table(acl_conn, SECRET, ["teamA"])
    source = _plans_votable(tmp_path)
    try:
        for mode in ("create", "replace"):
            ingest_files(acl_conn, [source], SECRET, mode=mode, query_role=acl_settings.query_role)
            with principal_session(acl_settings, BOB) as conn:
                assert conn.execute("SELECT count(*) FROM scratch.plans").fetchone() == (0,), mode
            with principal_session(acl_settings, ALICE) as conn:
                assert conn.execute("SELECT count(*) FROM scratch.plans").fetchone() == (2,), mode
    finally:
        drop_table(acl_conn, SECRET)


async def test_cone_search_of_a_granted_catalogue_is_for_its_groups_only(
        acl_app: Starlette, acl_conn: psycopg.Connection[Any]) -> None:
    """The cone search transaction carries the caller: PostgreSQL gives the rows to a member only."""
    ingest_jsdc_files(acl_conn, [JsdcFile(SAMPLES / "jsdc" / "getstar-Sirius.vot", 1)])
    store.grant_table(acl_conn, "jsdc.jsdc_v2", ["teamA"])
    live = context_of(acl_app).tap_schema
    await live.fresh()  # /scs uses the copy kept warm by NOTIFY: do not race it
    rows = await cone_search_as(acl_app, ALICE, "jsdc", 101.287, -16.716, 0.1)
    assert len(rows) >= 1
    for who in OUTSIDERS.values():
        with pytest.raises(UsageError, match="not published"):
            await cone_search_as(acl_app, who, "jsdc", 101.287, -16.716, 0.1)
    store.make_table_public(acl_conn, "jsdc.jsdc_v2")
    await live.fresh()
    assert len(await cone_search_as(acl_app, BOB, "jsdc", 101.287, -16.716, 0.1)) == len(rows)


async def test_a_table_granted_to_a_personal_group_is_its_users_alone_in_sql_and_adql(
        acl_settings: Settings, acl_app: Starlette, acl_conn: psycopg.Connection[Any], plans: Path) -> None:
    """``user:<login>`` (sql/0033) is a group nobody can be put in: only that user reads the table."""
    store.grant_table(acl_conn, SECRET, [personal_group("bob")])
    for who, rows in ((BOB, 2), (ALICE, 0), (ANONYMOUS, 0), (Principal("mallory", frozenset({"user:bob"})), 2)):
        with principal_session(acl_settings, who) as conn:
            assert conn.execute("SELECT count(*) FROM scratch.plans").fetchone() == (rows,), who
    assert len(await query_as(acl_app, BOB, f"SELECT * FROM {SECRET}")) == 2
    assert "unknown table" in await _error(acl_app, ALICE, f"SELECT * FROM {SECRET}")
    with pytest.raises(psycopg.errors.CheckViolation):  # why mallory cannot exist: no group name holds ':'
        acl_conn.execute("INSERT INTO jmmctap_accounts.groups (name) VALUES ('user:bob')")
