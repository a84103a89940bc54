"""The minimal service: VOSI availability, /health, and the liveness and readiness of load balancers."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
from asgi_lifespan import LifespanManager

from jmmctap import __version__
from jmmctap.app import create_app
from jmmctap.context import context_of
from jmmctap.health import Readiness
from jmmctap.settings import Settings
from tests.support.xsd import assert_valid

AVAILABILITY_NS = "http://www.ivoa.net/xml/VOSIAvailability/v1.0"


async def test_availability_is_valid_and_true_when_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/tap/availability")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    root = assert_valid(response.content, AVAILABILITY_NS)
    assert root.findtext(f"{{{AVAILABILITY_NS}}}available") == "true"
    assert root.findtext(f"{{{AVAILABILITY_NS}}}upSince", "").endswith("Z")


async def test_health_reports_version_and_schema_version(client: httpx.AsyncClient) -> None:
    body = (await client.get("/health")).json()
    assert body["version"] == __version__
    assert body["database"]["reachable"] is True
    assert isinstance(body["database"]["schema_version"], int)
    assert body["started_at"]


async def test_health_lists_schemas_row_counts_and_last_ingests(
    client: httpx.AsyncClient, owner_conn: psycopg.Connection[Any]
) -> None:
    owner_conn.execute(
        "INSERT INTO jmmctap.ingest_log (table_name, mode, files, checksums, n_rows, os_user, started_at)"
        " VALUES ('tap_schema.keys', 'append', '{a.vot,b.vot}', '{x,y}', 42, 'test', now())"
    )
    body = (await client.get("/health")).json()
    schemas = {s["name"]: s for s in body["schemas"]}
    assert {"tap_schema", "obsportal", "ivoa", "jsdc", "jmdc", "badcal", "spica"} <= set(schemas)
    keys = next(t for t in schemas["tap_schema"]["tables"] if t["name"] == "tap_schema.keys")
    assert keys["rows"] == owner_conn.execute("SELECT count(*) FROM tap_schema.keys").fetchone()[0]  # type: ignore[index]
    last = next(i for i in body["last_ingests"] if i["table"] == "tap_schema.keys")
    assert (last["files"], last["rows"], last["mode"]) == (2, 42, "append")


async def test_health_has_an_html_view(client: httpx.AsyncClient) -> None:
    response = await client.get("/health", headers={"Accept": "text/html"})
    assert response.headers["content-type"].startswith("text/html")
    assert "tap_schema.columns" in response.text and "reachable" in response.text
    assert (await client.get("/health?format=json", headers={"Accept": "text/html"})).json()["version"]


async def test_availability_is_false_when_the_database_is_gone(settings: Settings) -> None:
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        await context_of(app).pools.close()  # as if the database had gone away
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            root = assert_valid((await client.get("/tap/availability")).content, AVAILABILITY_NS)
            assert root.findtext(f"{{{AVAILABILITY_NS}}}available") == "false"
            assert (await client.get("/health")).status_code == 503


async def test_live_and_ready_while_the_database_answers(client: httpx.AsyncClient) -> None:
    live, ready = await client.get("/health/live"), await client.get("/health/ready")
    assert (live.status_code, live.json()) == (200, {"status": "live"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert ready.headers["cache-control"] == "no-store"


async def test_not_ready_without_the_database_or_once_draining(settings: Settings) -> None:
    readiness = Readiness()
    app = create_app(settings, readiness)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            readiness.drain()  # what serve does on SIGTERM
            draining = await client.get("/health/ready")
            assert draining.status_code == 503 and draining.json()["reason"].startswith("draining")
            assert int(draining.headers["retry-after"]) > 0
            readiness.draining = False
            await context_of(app).pools.close()  # as if the database had gone away
            gone = await client.get("/health/ready")
            assert gone.status_code == 503 and "database" in gone.json()["reason"]
            assert (await client.get("/health/live")).status_code == 200  # restarting would not help
