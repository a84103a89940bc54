"""HTTP behaviour of /tap/capabilities, /tap/tables[/{name}] and /tap/examples (in-process)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import replace
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import psycopg
import pytest
from asgi_lifespan import LifespanManager
from lxml import etree
from starlette.applications import Starlette

from jmmctap import formats
from jmmctap.adql import features
from jmmctap.app import create_app
from jmmctap.context import context_of
from jmmctap.settings import Settings
from jmmctap.tapschema import Column, Schema, Table, load_tap_schema
from jmmctap.tapschema.publish import publish_schema, publish_table, unpublish_table
from jmmctap.vosi import CAPABILITIES_NS, TABLES_NS
from jmmctap.vosi.examples import XHTML_NS
from tests.support.xsd import assert_valid

TR = "http://www.ivoa.net/xml/TAPRegExt/v1.0"
VS = "http://www.ivoa.net/xml/VODataService/v1.1"


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    """The application with its lifespan running, for tests that look at or change its process context."""
    application = create_app(replace(settings, public_url="https://vo.example.org/"))
    async with LifespanManager(application):
        yield application


def _client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def test_capabilities_is_valid_and_its_base_url_is_where_the_client_came(client: httpx.AsyncClient) -> None:
    response = await client.get("/tap/capabilities")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    root = assert_valid(response.content, CAPABILITIES_NS, TR, VS)
    assert root.findtext("capability[@standardID='ivo://ivoa.net/std/TAP']/interface/accessURL") == (
        "http://testserver/tap")
    assert parsedate_to_datetime(response.headers["last-modified"]).tzinfo is not None


async def test_capabilities_base_url_is_the_public_url_when_configured(app: Starlette) -> None:
    async with _client(app) as client:
        root = assert_valid((await client.get("/tap/capabilities")).content, CAPABILITIES_NS, TR, VS)
    urls = [u.text for u in root.iter("accessURL")]
    assert "https://vo.example.org/tap" in urls
    assert all(u.startswith("https://vo.example.org/") for u in urls)  # /tap/… and the cone searches /scs/…


async def test_tables_lists_every_published_table(client: httpx.AsyncClient,
                                                  owner_conn: psycopg.Connection[Any]) -> None:
    response = await client.get("/tap/tables")
    assert response.headers["content-type"].startswith("text/xml")
    root = assert_valid(response.content, TABLES_NS, VS)
    published = {name for (name,) in owner_conn.execute("SELECT table_name FROM tap_schema.tables")}
    assert {t.findtext("name") for t in root.iter("table")} == published
    assert root.find(".//column") is not None


@pytest.mark.parametrize("query", ["detail=min", "DETAIL=min", "Detail=MIN"])
async def test_tables_detail_min_leaves_columns_out(client: httpx.AsyncClient, query: str) -> None:
    root = assert_valid((await client.get(f"/tap/tables?{query}")).content, TABLES_NS, VS)
    assert root.find(".//table") is not None
    assert root.find(".//column") is None


async def test_one_table_is_served_in_full_detail(client: httpx.AsyncClient) -> None:
    response = await client.get("/tap/tables/tap_schema.columns")
    assert response.status_code == 200
    root = assert_valid(response.content, TABLES_NS, VS)
    assert root.tag == f"{{{TABLES_NS}}}table"
    assert root.findtext("name") == "tap_schema.columns"
    assert root.findall("column")[1].findtext("name") == "column_name"
    assert root.find("foreignKey/targetTable").text == "tap_schema.tables"


async def test_one_table_is_found_as_an_adql_name_would_be(client: httpx.AsyncClient) -> None:
    root = assert_valid((await client.get("/tap/tables/TAP_SCHEMA.Tables")).content, TABLES_NS, VS)
    assert root.findtext("name") == "tap_schema.tables"


async def test_unknown_table_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/tap/tables/nosuch.table")).status_code == 404


async def test_tables_follow_an_ingest_at_once(app: Starlette, settings: Settings,
                                              owner_conn: psycopg.Connection[Any]) -> None:
    # a table published after the start is listed by the very next request (no waiting for NOTIFY)
    try:
        with owner_conn.transaction():
            publish_schema(owner_conn, Schema("extra", "test schema"), settings.query_role)
            owner_conn.execute("CREATE TABLE extra.t (x int)")
            publish_table(owner_conn, Table("extra", "extra.t", description="added by an ingest",
                                            columns=(Column("extra.t", "x", "int"),)), settings.query_role)
        async with _client(app) as client:
            names = {t.findtext("name") for t in
                     assert_valid((await client.get("/tap/tables")).content, TABLES_NS, VS).iter("table")}
            assert (await client.get("/tap/tables/extra.t")).status_code == 200
        assert "extra.t" in names
    finally:
        with owner_conn.transaction():
            unpublish_table(owner_conn, "extra.t")
            owner_conn.execute("DELETE FROM tap_schema.schemas WHERE schema_name = 'extra'")
            owner_conn.execute("DROP SCHEMA IF EXISTS extra CASCADE")


async def test_examples_are_xhtml_and_list_only_published_tables(
    client: httpx.AsyncClient, owner_conn: psycopg.Connection[Any]
) -> None:
    response = await client.get("/tap/examples")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xhtml+xml")
    root = etree.fromstring(response.content)
    assert root.tag == f"{{{XHTML_NS}}}html"
    tables = {t.text for t in root.iter() if t.get("property") == "table"}
    tap = load_tap_schema(owner_conn)
    assert tables and all(tap.table(t) is not None for t in tables)


async def test_examples_drop_when_their_table_disappears(app: Starlette) -> None:
    current = context_of(app).tap_schema
    before = current.schema
    current.offer(dataclasses.replace(before, tables=tuple(t for t in before.tables if t.name != "tap_schema.keys")))
    async with _client(app) as client:
        body = (await client.get("/tap/examples")).text
    assert "tap_schema.keys" not in body
    assert "tap_schema.columns" in body


@pytest.mark.parametrize("path", ["/tap/capabilities", "/tap/tables", "/tap/examples"])
async def test_vosi_resources_answer_only_get(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.post(path)).status_code == 405



async def test_capabilities_declare_the_formats_and_adql_features_the_service_implements(
    client: httpx.AsyncClient,
) -> None:
    root = assert_valid((await client.get("/tap/capabilities")).content, CAPABILITIES_NS, TR, VS)
    tap = root.find("capability[@standardID='ivo://ivoa.net/std/TAP']")
    assert [f.findtext("mime") for f in tap.findall("outputFormat")] == [f.mime for f in formats.all_formats()]
    declared = {(g.get("type"), f.findtext("form")) for g in tap.iter("languageFeatures") for f in g.iter("feature")}
    expected = {(kind, form) for kind, forms in features.LANGUAGE_FEATURES.items() for form, _ in forms}
    expected |= {(features.UDF_FEATURE_TYPE, form) for form, _ in features.UDFS}
    assert declared == expected
    assert [v.text for v in tap.findall("language/version")] == [v for v, _ in features.ADQL_VERSIONS]
