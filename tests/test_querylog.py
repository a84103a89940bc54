"""One ``query`` line per TAP query and one ``cone`` line per cone search, with the result's measures."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from jmmctap.auth import Principal
from jmmctap.logs import event_fields
from jmmctap.querylog import QueryLog, adql_digest

pytestmark = pytest.mark.usefixtures("testdata")


def _events(caplog: pytest.LogCaptureFixture, kind: str) -> list[dict[str, Any]]:
    return [fields for r in caplog.records if (fields := event_fields(r, kind)) is not None]


def test_the_adql_is_logged_as_a_digest() -> None:
    text = "SELECT TOP 1 * FROM secret.table"
    assert adql_digest(text) == "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]
    assert adql_digest(text) != adql_digest(text + " ")


async def test_a_result_not_read_to_its_end_is_logged_as_interrupted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="jmmctap.query")

    async def chunks() -> AsyncIterator[bytes]:
        yield b"head"
        yield b"rows"

    record = QueryLog("query", Principal("alice"), "SELECT 1", kind="sync")
    body = record.measure(chunks())
    assert await anext(body) == b"head"
    await body.aclose()  # what the response does when the client goes away
    record.finish("ok")  # a second end is not a second line
    (line,) = _events(caplog, "query")
    assert (line["principal"], line["bytes"], line["outcome"]) == ("alice", 4, "interrupted")


async def test_a_sync_query_is_logged_when_its_result_ends(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="jmmctap.query")
    adql = "SELECT TOP 7 n FROM testdata.numbers ORDER BY n"
    response = await client.post("/tap/sync", data={"QUERY": adql, "MAXREC": "5"})
    (line,) = _events(caplog, "query")
    assert {k: line[k] for k in ("principal", "kind", "adql", "rows", "bytes", "overflow", "outcome")} == {
        "principal": "anonymous", "kind": "sync", "adql": adql_digest(adql), "rows": 5,
        "bytes": len(response.content), "overflow": True, "outcome": "ok"}
    assert line["duration_ms"] >= 0 and "error" not in line


@pytest.mark.parametrize(("adql", "words"), [
    ("SELECT n FROM testdata.nowhere", "nowhere"),  # refused by the translator
    ("SELECT 1 / (n - n) FROM testdata.numbers", "division by zero"),  # refused by PostgreSQL
])
async def test_a_failed_query_is_logged_with_its_error(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, adql: str, words: str
) -> None:
    caplog.set_level(logging.INFO, logger="jmmctap.query")
    response = await client.post("/tap/sync", data={"QUERY": adql})
    assert response.status_code == 400
    (line,) = _events(caplog, "query")
    assert (line["outcome"], line["rows"], line["bytes"]) == ("error", 0, 0)
    assert words in line["error"]


async def test_a_query_failing_while_it_streams_is_an_error_with_the_rows_sent(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="jmmctap.query")
    adql = "SELECT n, 1 / (n - 15000) AS boom FROM testdata.numbers ORDER BY n"
    response = await client.post("/tap/sync", data={"QUERY": adql, "FORMAT": "csv"})
    assert response.status_code == 200  # the header was already sent
    (line,) = _events(caplog, "query")
    assert (line["outcome"], line["bytes"]) == ("error", len(response.content))
    assert 0 < line["rows"] < 15000 and "division by zero" in line["error"]


async def test_a_cone_search_is_logged_with_its_cone(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="jmmctap.query")
    response = await client.get("/scs/jsdc", params={"RA": "10.5", "DEC": "-20", "SR": "0", "VERB": "1"})
    assert response.status_code == 200
    (line,) = _events(caplog, "cone")
    assert {k: line[k] for k in ("principal", "catalogue", "ra", "dec", "sr", "verb", "rows", "bytes", "outcome")} == {
        "principal": "anonymous", "catalogue": "jsdc", "ra": 10.5, "dec": -20.0, "sr": 0.0, "verb": 1, "rows": 0,
        "bytes": len(response.content), "outcome": "ok"}
    assert line["adql"].startswith("sha256:")
