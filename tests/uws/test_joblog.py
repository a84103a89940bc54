"""One ``job`` line per transition, written by the process that made it, and a ``query`` line per job run."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from jmmctap.app import create_app
from jmmctap.logs import event_fields
from jmmctap.settings import Settings


@pytest.fixture
async def private_client(uws_settings: Settings, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app with one job slot on the UWS tests' private cluster: its jobs run in this process."""
    app = create_app(replace(uws_settings, results_dir=tmp_path / "results", async_workers=1))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def _lines(caplog: pytest.LogCaptureFixture, event: str, job_id: str) -> list[dict[str, Any]]:
    found = (event_fields(r, event) for r in caplog.records)
    return [fields for fields in found if fields is not None and fields["job"] == job_id]


async def test_a_job_run_to_its_end_logs_each_phase(
    private_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="jmmctap")
    adql = "SELECT TOP 5 n FROM testdata.numbers ORDER BY n"
    url = (await private_client.post("/tap/async", data={"QUERY": adql, "PHASE": "RUN"})).headers["location"]
    job_id = url.rsplit("/", 1)[1]
    for _ in range(20):
        if (await private_client.get(url + "/phase")).text == "COMPLETED":
            break
        await private_client.get(url, params={"WAIT": "5"})
    size = len((await private_client.get(url + "/results/result")).content)
    await private_client.delete(url)
    lines = _lines(caplog, "job", job_id)
    assert [line["phase"] for line in lines] == ["QUEUED", "EXECUTING", "COMPLETED", "DELETED"]
    assert all(line["principal"] == "anonymous" for line in lines)
    assert (lines[2]["rows"], lines[2]["bytes"]) == (5, size)
    (query,) = _lines(caplog, "query", job_id)
    assert (query["kind"], query["rows"], query["bytes"], query["outcome"]) == ("async", 5, size, "ok")


async def test_a_pending_job_aborted_logs_its_creation_and_abort(
    private_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="jmmctap.uws.jobs")
    url = (await private_client.post("/tap/async", data={"QUERY": "SELECT 1"})).headers["location"]
    await private_client.post(url + "/phase", data={"PHASE": "ABORT"})
    await private_client.post(url + "/phase", data={"PHASE": "ABORT"})  # already final: no transition
    lines = _lines(caplog, "job", url.rsplit("/", 1)[1])
    assert [(line["phase"], line.get("previous")) for line in lines] == [("PENDING", None), ("ABORTED", "PENDING")]
