"""UWS fixtures: a private cluster for the store and service tests, a store, a job runtime.

The session's live server runs job workers and a sweeper on the shared test database: it would claim
the QUEUED jobs and fail the EXECUTING ones that these tests create by hand. So the store, service and
kill tests use their own cluster (``uws_settings``), where nothing else runs; the HTTP tests use the
shared database, where several processes running jobs is the normal case.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from jmmctap.db.connect import conninfos
from jmmctap.db.pools import open_pools
from jmmctap.settings import Settings
from jmmctap.uws.models import ExecutionPhase, Job, Parameter
from jmmctap.uws.resultstore import ResultStore
from jmmctap.uws.runtime import UwsRuntime, start_uws
from jmmctap.uws.service import new_job_id
from jmmctap.uws.store import JobStore
from tests.conftest import FAST_CLUSTER_OPTIONS, free_port
from tests.support.cluster import private_cluster


@pytest.fixture(scope="session")
def uws_settings() -> Iterator[Settings]:
    """Settings of a private cluster with every migration and the test tables, used by UWS tests only."""
    with private_cluster("jmmctap-uws-test-", FAST_CLUSTER_OPTIONS, port=free_port()) as private:
        yield private


@pytest.fixture(scope="session")
async def owner_pool(uws_settings: Settings) -> AsyncIterator[AsyncConnectionPool[Any]]:
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        conninfos(uws_settings).owner, min_size=1, max_size=6, kwargs={"autocommit": True}, open=False
    )
    await pool.open(wait=True)
    yield pool
    await pool.close()


@pytest.fixture
async def store(owner_pool: AsyncConnectionPool[Any]) -> JobStore:
    """A store on an empty job table (worker rows are kept: a live server may be registered)."""
    async with owner_pool.connection() as conn:
        await conn.execute("DELETE FROM uws.job")
    return JobStore(owner_pool)


async def read_stored(results: ResultStore, job_id: str, upload: str | None = None) -> bytes | None:
    """What the results store keeps for the job (its result, or upload ``upload``), None when nothing."""
    stored = await results.stored(job_id, upload)
    return None if stored is None else b"".join([chunk async for chunk in results.read(stored)])


def make_job(phase: ExecutionPhase = ExecutionPhase.PENDING, *, owner: str | None = None, run_id: str | None = None,
             parameters: tuple[Parameter, ...] = (), created: datetime | None = None,
             destruction: timedelta = timedelta(days=1)) -> Job:
    now = created or datetime.now(UTC)
    return Job(
        job_id=new_job_id(), phase=phase, run_id=run_id, owner_id=owner, creation_time=now, start_time=None,
        end_time=None, execution_duration_s=60, destruction=now + destruction, quote=now + timedelta(seconds=60),
        parameters=parameters,
    )


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    return tmp_path / "results"


@pytest.fixture
def results_store_kind() -> str:
    """``JMMCTAP_RESULTS_STORE`` of ``runtime``; a test parametrizes it to run on both stores."""
    return "files"


@pytest.fixture
async def runtime(uws_settings: Settings, store: JobStore, results_dir: Path,
                  results_store_kind: str) -> AsyncIterator[UwsRuntime]:
    """The UWS machinery of a process that runs no jobs (listener, service, sweeper) on fresh pools."""
    configured = replace(uws_settings, results_dir=results_dir, results_store=results_store_kind)
    pools = await open_pools(configured)
    try:
        async with start_uws(pools, configured, None, 0) as uws:
            yield uws
    finally:
        await pools.close()
