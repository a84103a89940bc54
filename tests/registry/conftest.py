"""Fixtures of the registry tests: one identity file (the shipped one plus a test catalogue), servers using it.

Every registry test server has the same public URL and identity file, so that they all build the same
records and none re-dates what another one stored (the records share the test database).
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import yaml
from asgi_lifespan import LifespanManager

from jmmctap.app import create_app
from jmmctap.registry.identity import DEFAULT_REGISTRY_FILE
from jmmctap.settings import Settings
from jmmctap.tapschema import Column, Schema, Table
from jmmctap.tapschema.publish import publish_schema, publish_table, unpublish_table
from tests.conftest import free_port, server_env, spawn_server, stop_server
from tests.registry.support import PUBLIC

TEST_CATALOGUE = "ivo://jmmc.fr/regtest-catalogue"
"""The record of the test catalogue: every table of the schema ``regtest``."""
PAGE_SIZE = 3
"""Records per OAI-PMH list response in these tests: several pages for a dozen records."""


@pytest.fixture(scope="session")
def identity_file() -> Iterator[Path]:
    content = yaml.safe_load(DEFAULT_REGISTRY_FILE.read_text())
    content["catalogues"]["regtest"] = {
        "key": "regtest-catalogue", "title": "Registry test catalogue", "schemas": ["regtest"],
        "description": "Tables the registry tests publish and drop.", "subjects": ["catalogs"],
    }
    with tempfile.TemporaryDirectory(prefix="jmmctap-registry-") as directory:
        path = Path(directory) / "registry.yaml"
        path.write_text(yaml.safe_dump(content))
        yield path


@pytest.fixture(scope="session")
def registry_settings(settings: Settings, identity_file: Path) -> Settings:
    return replace(settings, public_url=PUBLIC, oai_page_size=PAGE_SIZE, registry_file=identity_file)


@pytest.fixture
async def oai_client(registry_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The application in-process with the registry settings."""
    app = create_app(registry_settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


@pytest.fixture(scope="module")
def registry_server(registry_settings: Settings, testdata: None) -> Iterator[str]:
    """A real ``jmmctap serve`` with the registry settings; yields its root URL."""
    port = free_port()
    env = server_env(registry_settings)
    env.update(JMMCTAP_PUBLIC_URL=PUBLIC, JMMCTAP_OAI_PAGE_SIZE=str(PAGE_SIZE),
               JMMCTAP_REGISTRY_FILE=str(registry_settings.registry_file))
    process = spawn_server(env, port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(process)


def publish_test_table(conn: psycopg.Connection[Any], name: str, query_role: str) -> str:
    """Create and publish ``regtest.<name>`` (one column); returns its TAP name."""
    table = f"regtest.{name}"
    with conn.transaction():
        publish_schema(conn, Schema("regtest", "Tables of the registry tests."), query_role)
        conn.execute(f"CREATE TABLE IF NOT EXISTS regtest.{name} (x double precision)")
        publish_table(conn, Table("regtest", table, description="A registry test table",
                                  columns=(Column(table, "x", "double", unit="m"),)), query_role)
    return table


def drop_test_tables(conn: psycopg.Connection[Any]) -> None:
    """Unpublish and drop every ``regtest`` table (the test catalogue then has no table)."""
    with conn.transaction():
        for (name,) in conn.execute("SELECT table_name FROM tap_schema.tables WHERE schema_name = 'regtest'"):
            unpublish_table(conn, name)
        conn.execute("DELETE FROM acl.table_grant WHERE table_name LIKE 'regtest.%%'")
        conn.execute("DROP SCHEMA IF EXISTS regtest CASCADE")
        conn.execute("DELETE FROM tap_schema.schemas WHERE schema_name = 'regtest'")
