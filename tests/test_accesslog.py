"""One ``access`` line per HTTP request, written once the response is sent."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from jmmctap.logs import event_fields

pytestmark = pytest.mark.usefixtures("testdata")


def _access(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [fields for r in caplog.records if (fields := event_fields(r, "access")) is not None]


async def test_each_request_gets_a_line_with_status_bytes_duration_and_client(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="jmmctap")
    ok = await client.get("/tap/sync", params={"QUERY": "SELECT TOP 4 n FROM testdata.numbers", "FORMAT": "csv"})
    missing = await client.get("/tap/tables/no.such")
    first, second = _access(caplog)
    assert {k: first[k] for k in ("method", "path", "status", "bytes")} == {
        "method": "GET", "path": "/tap/sync", "status": 200, "bytes": ok.num_bytes_downloaded}  # gzip: the wire
    assert {k: second[k] for k in ("path", "status", "bytes")} == {
        "path": "/tap/tables/no.such", "status": 404, "bytes": len(missing.content)}
    assert first["duration_ms"] >= 0 and first["client"].startswith("127.0.0.1:")


async def test_a_request_refused_before_any_work_is_logged_too(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="jmmctap.access")
    await client.put("/tap/sync")
    (line,) = _access(caplog)
    assert (line["method"], line["status"]) == ("PUT", 405)
