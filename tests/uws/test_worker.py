"""Limits that bite, with a real long query (a cross join of two ten-million-row views).

ABORT and DELETE stop the query inside PostgreSQL at once, the execution duration is a statement
timeout, and a job whose serving process is killed ends in ERROR after a restart.
"""

from __future__ import annotations

import os
import signal
import time

import httpx
import psycopg
import pytest

from jmmctap.db.connect import conninfos
from jmmctap.settings import Settings
from jmmctap.uws.sweeper import DEAD_WORKER_MESSAGE
from tests.conftest import free_port, server_env, spawn_server, stop_server

LONG_QUERY = "SELECT COUNT(*) AS n FROM testdata.series AS a, testdata.series AS b WHERE a.n + b.n = 3"
"""Never ends in practice: 10^14 pairs, and nothing to stream before it ends."""

pytestmark = pytest.mark.usefixtures("testdata")


def _active_cross_joins(settings: Settings) -> list[int]:
    """Backends of the query role running a user query (seen as the superuser: query texts are visible).

    The long query runs in the first FETCH of the result cursor, so that is the statement shown.
    """
    with psycopg.connect(conninfos(settings).admin, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE usename = %s AND state = 'active'"
            " AND (query ILIKE %s OR query ILIKE %s) AND pid <> pg_backend_pid()",
            [settings.query_role, "%testdata%series%testdata%series%", "FETCH%jmmctap_result%"],
        ).fetchall()
    return [r[0] for r in rows]


async def _start_long_job(client: httpx.AsyncClient, **extra: str) -> str:
    response = await client.post("/tap/async", data={"LANG": "ADQL", "QUERY": LONG_QUERY, "PHASE": "RUN", **extra})
    assert response.status_code == 303
    return str(response.headers["location"]).removeprefix("http://testserver")


async def _phase_when_executing(client: httpx.AsyncClient, url: str, settings: Settings) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        phase = (await client.get(url + "/phase")).text
        assert phase in ("QUEUED", "EXECUTING"), phase
        if phase == "EXECUTING" and _active_cross_joins(settings):
            return
        await client.get(url, params={"WAIT": "1"})
    raise AssertionError("the long query never started")


async def _no_cross_join_after(settings: Settings, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _active_cross_joins(settings):
            return True
        time.sleep(0.05)
    return not _active_cross_joins(settings)


async def test_abort_cancels_the_query_in_postgresql(client: httpx.AsyncClient, settings: Settings) -> None:
    url = await _start_long_job(client)
    await _phase_when_executing(client, url, settings)
    response = await client.post(url + "/phase", data={"PHASE": "ABORT"})
    assert response.status_code == 303
    assert await _no_cross_join_after(settings, 1.0)
    assert (await client.get(url + "/phase")).text == "ABORTED"


async def test_delete_cancels_the_query_in_postgresql(client: httpx.AsyncClient, settings: Settings) -> None:
    url = await _start_long_job(client)
    await _phase_when_executing(client, url, settings)
    assert (await client.delete(url)).status_code == 303
    assert await _no_cross_join_after(settings, 1.0)
    assert (await client.get(url)).status_code == 404


async def test_execution_duration_ends_the_job_in_error(client: httpx.AsyncClient, settings: Settings) -> None:
    started = time.monotonic()
    url = await _start_long_job(client, EXECUTIONDURATION="1")
    while (phase := (await client.get(url + "/phase")).text) in ("QUEUED", "EXECUTING"):
        await client.get(url, params={"WAIT": "5"})
    elapsed = time.monotonic() - started
    assert phase == "ERROR"
    assert elapsed < 2.0, elapsed
    message = (await client.get(url)).text
    assert "time limit" in message or "execution duration" in message
    assert await _no_cross_join_after(settings, 0.5)


@pytest.mark.slow
def test_killed_server_leaves_its_job_in_error_after_restart(uws_settings: Settings) -> None:
    # a private cluster: on the shared one the live server's workers could take the job instead
    settings = uws_settings
    env = server_env(settings)
    port = free_port()
    first = spawn_server(env, port)
    base = f"http://127.0.0.1:{port}/tap"
    try:
        response = httpx.post(f"{base}/async", data={"LANG": "ADQL", "QUERY": LONG_QUERY, "PHASE": "RUN"})
        url = response.headers["location"].replace(f"127.0.0.1:{port}", "{host}")
        deadline = time.monotonic() + 20
        while httpx.get(url.format(host=f"127.0.0.1:{port}") + "/phase").text != "EXECUTING" \
                or not _active_cross_joins(settings):
            assert time.monotonic() < deadline, "the long query never started"
            time.sleep(0.1)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    finally:
        stop_server(first)
    port = free_port()
    second = spawn_server(env, port)
    try:
        job_url = url.format(host=f"127.0.0.1:{port}")
        deadline = time.monotonic() + 15
        while (phase := httpx.get(job_url + "/phase").text) == "EXECUTING":
            assert time.monotonic() < deadline, "the job of the killed server stayed EXECUTING"
            time.sleep(0.1)
        assert phase == "ERROR"
        assert DEAD_WORKER_MESSAGE in httpx.get(job_url).text
        assert httpx.get(job_url + "/error").status_code == 200
        deadline = time.monotonic() + 5
        while _active_cross_joins(settings):  # the orphaned backend is cancelled too
            assert time.monotonic() < deadline, "the killed server's query still runs"
            time.sleep(0.1)
    finally:
        stop_server(second)
