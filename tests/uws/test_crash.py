"""Crashes: a job acknowledged with 303 survives a PostgreSQL crash; a killed server's queries stop in seconds.

The durability test needs its own cluster with PostgreSQL's default durability: the session clusters run
with ``fsync=off`` and ``synchronous_commit=off`` (``FAST_CLUSTER_OPTIONS``), where no commit waits for
anything.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Iterator

import anyio
import httpx
import psycopg
import pytest

from jmmctap.db.cluster import EmbeddedCluster
from jmmctap.db.connect import conninfos
from jmmctap.settings import Settings
from jmmctap.uws.models import ExecutionPhase
from jmmctap.uws.store import JobStore, open_job_pool
from tests.conftest import free_port, server_env, spawn_server, stop_server
from tests.support.cluster import private_cluster
from tests.uws.conftest import make_job
from tests.uws.test_worker import LONG_QUERY

ORPHAN_BOUND_S = 15.0
"""Generous bound for a dead server's query to stop (PostgreSQL checks its client every second)."""


def _fetching(settings: Settings) -> list[int]:
    """Backends of the query role in the long first FETCH of a result cursor (seen as the superuser)."""
    with psycopg.connect(conninfos(settings).admin, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE usename = %s AND state = 'active' AND query ILIKE %s",
            [settings.query_role, "FETCH%jmmctap_result%"],
        ).fetchall()
    return [r[0] for r in rows]


@pytest.fixture
def durable_settings() -> Iterator[Settings]:
    """A private cluster started with PostgreSQL's default fsync and synchronous_commit."""
    with private_cluster("jmmctap-durable-test-", "", port=free_port(), testdata=False) as settings:
        yield settings


@pytest.mark.slow
async def test_acknowledged_jobs_survive_a_postgresql_crash(durable_settings: Settings) -> None:
    cluster = EmbeddedCluster.from_settings(durable_settings)
    acknowledged: list[str] = []
    pool = await open_job_pool(conninfos(durable_settings).owner, 4)
    try:
        store = JobStore(pool)

        async def create_jobs() -> None:
            while True:  # until the crash makes an insert fail
                job = make_job(ExecutionPhase.QUEUED)
                await store.insert(job)
                acknowledged.append(job.job_id)  # what the endpoint answers 303 for

        async def create_jobs_until_the_crash() -> None:
            with pytest.raises(psycopg.Error):
                await asyncio.gather(*(create_jobs() for _ in range(4)))

        creating = asyncio.create_task(create_jobs_until_the_crash())
        await asyncio.sleep(1.0)
        await anyio.to_thread.run_sync(cluster.stop, "immediate")
        await asyncio.wait_for(creating, 30)
    finally:
        await pool.close(timeout=1)
    cluster.start()
    assert len(acknowledged) > 10
    with psycopg.connect(conninfos(durable_settings).owner) as conn:
        found = {r[0] for r in conn.execute("SELECT job_id FROM uws.job WHERE job_id = ANY(%s)", [acknowledged])}
    assert sorted(set(acknowledged) - found) == []


@pytest.mark.slow
def test_queries_of_a_killed_server_stop_within_seconds(uws_settings: Settings) -> None:
    port = free_port()
    server = spawn_server(server_env(uws_settings), port)
    client_done = threading.Event()

    def run_sync_query() -> None:
        try:
            httpx.post(f"http://127.0.0.1:{port}/tap/sync", data={"QUERY": LONG_QUERY}, timeout=120)
        except httpx.HTTPError:
            pass  # the server is killed under it
        finally:
            client_done.set()

    thread = threading.Thread(target=run_sync_query, daemon=True)
    try:
        thread.start()
        deadline = time.monotonic() + 20
        while not _fetching(uws_settings):  # past DECLARE, whose answer would tell the backend its client died
            assert time.monotonic() < deadline, "the long query never started"
            time.sleep(0.1)
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
    finally:
        stop_server(server)
    deadline = time.monotonic() + ORPHAN_BOUND_S
    while _fetching(uws_settings):  # no new server, no sweeper: PostgreSQL notices the dead client
        assert time.monotonic() < deadline, "the killed server's query still runs"
        time.sleep(0.2)
    assert client_done.wait(10)
