"""The job store on real PostgreSQL: persistence, phase rules, claiming with SKIP LOCKED, dead workers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from jmmctap.db.connect import conninfos
from jmmctap.settings import Settings
from jmmctap.uws.models import ExecutionPhase, JobError, JobResult, Parameter
from jmmctap.uws.store import CHANNEL_JOB, CHANNEL_QUEUE, JobStore, listen
from tests.uws.conftest import make_job

PENDING, QUEUED, EXECUTING = ExecutionPhase.PENDING, ExecutionPhase.QUEUED, ExecutionPhase.EXECUTING


@contextlib.asynccontextmanager
async def _listening(settings: Settings, worker_id: int | None = None) -> AsyncIterator[list[tuple[str, str]]]:
    """A running listener (holding the worker lock when ``worker_id`` is given) and what it received."""
    received: list[tuple[str, str]] = []
    ready = asyncio.Event()

    async def on_ready() -> None:
        ready.set()

    task = asyncio.create_task(listen(conninfos(settings).owner, lambda c, p: received.append((c, p)),
                                      on_ready=on_ready, worker_id=worker_id))
    try:
        await asyncio.wait_for(ready.wait(), 10)
        yield received
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_job_round_trips_with_parameters_in_order(store: JobStore) -> None:
    params = (Parameter("QUERY", "SELECT 1"), Parameter("UPLOAD", "a,param:a"), Parameter("UPLOAD", "b,param:b"))
    job = make_job(run_id="t1", parameters=params)
    await store.insert(job, [("a", 12)])
    found = await store.get(job.job_id)
    assert found is not None
    assert (found.phase, found.run_id, found.parameters, found.upload_files) == (PENDING, "t1", params, ("a",))
    assert found.parameter_map() == {"QUERY": ["SELECT 1"], "UPLOAD": ["a,param:a", "b,param:b"]}
    assert found.creation_time == job.creation_time
    assert await store.get("nope") is None


async def test_list_filters_by_owner_phase_after_and_last(store: JobStore) -> None:
    base = datetime(2030, 1, 1, tzinfo=UTC)
    jobs = [make_job(owner="bob", created=base + timedelta(minutes=i)) for i in range(4)]
    for job in jobs:
        await store.insert(job)
    await store.insert(make_job(owner="alice", created=base))
    await store.insert(make_job(created=base))  # anonymous: nobody's, listed to no one
    archived = make_job(ExecutionPhase.ARCHIVED, owner="bob", created=base)
    await store.insert(archived)
    await store.queue(jobs[0].job_id)

    assert [r.job_id for r in await store.list_jobs("bob")] == [j.job_id for j in reversed(jobs)]
    assert [r.job_id for r in await store.list_jobs("bob", [QUEUED])] == [jobs[0].job_id]
    assert {r.job_id for r in await store.list_jobs("bob", [QUEUED, PENDING])} == {j.job_id for j in jobs}
    assert [r.job_id for r in await store.list_jobs("bob", last=2)] == [jobs[3].job_id, jobs[2].job_id]
    after = await store.list_jobs("bob", after=base + timedelta(minutes=1, seconds=30))
    assert [r.job_id for r in after] == [jobs[3].job_id, jobs[2].job_id]
    assert [r.job_id for r in await store.list_jobs("bob", [ExecutionPhase.ARCHIVED])] == [archived.job_id]
    assert [r.owner_id for r in await store.list_jobs("alice")] == ["alice"]


async def test_parameters_change_only_while_pending(store: JobStore) -> None:
    job = make_job(parameters=(Parameter("LANG", "ADQL"),))
    await store.insert(job)
    assert await store.add_parameters(job.job_id, [Parameter("MAXREC", "10")]) == PENDING
    assert await store.queue(job.job_id) == PENDING
    assert await store.add_parameters(job.job_id, [Parameter("QUERY", "x")]) == QUEUED
    assert await store.set_execution_duration(job.job_id, 5) == QUEUED
    found = await store.get(job.job_id)
    assert found is not None
    assert [p.name for p in found.parameters] == ["LANG", "MAXREC"]
    assert found.execution_duration_s == 60
    assert await store.add_parameters("nope", []) is None


async def test_concurrent_claims_never_take_a_job_twice(store: JobStore) -> None:
    jobs = [make_job(QUEUED) for _ in range(20)]
    for job in jobs:
        await store.insert(job)

    async def drain(worker_id: int) -> list[str]:
        taken = []
        while (job := await store.claim(worker_id)) is not None:
            assert job.phase == EXECUTING and job.worker_id == worker_id
            taken.append(job.job_id)
        return taken

    results = await asyncio.gather(*(drain(w) for w in (101, 102, 103)))
    claimed = [job_id for taken in results for job_id in taken]
    assert sorted(claimed) == sorted(j.job_id for j in jobs)


async def test_claim_takes_the_oldest_queued_job_first(store: JobStore) -> None:
    first, second = make_job(), make_job()
    await store.insert(first)
    await store.insert(second)
    await store.queue(second.job_id)
    await store.queue(first.job_id)
    claimed = await store.claim(7)
    assert claimed is not None and claimed.job_id == second.job_id


async def test_only_the_claiming_worker_finishes_an_executing_job(store: JobStore) -> None:
    job = make_job(QUEUED)
    await store.insert(job)
    await store.claim(5)
    assert await store.set_backend_pid(job.job_id, 5, 4242)
    assert not await store.complete(job.job_id, 6, JobResult("text/csv", 1))
    assert await store.complete(job.job_id, 5, JobResult("text/csv", 10, rows=2, overflow=True))
    found = await store.get(job.job_id)
    assert found is not None
    assert (found.phase, found.result, found.backend_pid) == (
        ExecutionPhase.COMPLETED, JobResult("text/csv", 10, 2, True), None)
    assert not await store.fail(job.job_id, JobError("late"), 5)


async def test_abort_reports_the_backend_to_cancel(store: JobStore) -> None:
    job = make_job(QUEUED)
    await store.insert(job)
    await store.claim(5)
    await store.set_backend_pid(job.job_id, 5, 4242)
    stopped = await store.abort(job.job_id)
    assert stopped is not None and (stopped.previous, stopped.backend_pid) == (EXECUTING, 4242)
    found = await store.get(job.job_id)
    assert found is not None and found.phase == ExecutionPhase.ABORTED and found.end_time is not None
    again = await store.abort(job.job_id)
    assert again is not None and again.previous == ExecutionPhase.ABORTED
    assert not await store.complete(job.job_id, 5, JobResult("text/csv", 1))


async def test_delete_forgets_the_job_and_its_parameters(store: JobStore, owner_pool: AsyncConnectionPool[Any]) -> None:
    job = make_job(parameters=(Parameter("QUERY", "q"),))
    await store.insert(job, [("t", 3)])
    stopped = await store.delete(job.job_id)
    assert stopped is not None and stopped.previous == PENDING
    assert await store.get(job.job_id) is None
    assert await store.delete(job.job_id) is None
    async with owner_pool.connection() as conn:
        cursor = await conn.execute("SELECT count(*) FROM uws.parameter WHERE job_id = %s", [job.job_id])
        assert await cursor.fetchone() == (0,)


async def test_phase_changes_are_notified(store: JobStore, uws_settings: Settings) -> None:
    job = make_job()
    async with _listening(uws_settings) as received:
        await store.insert(job)
        await store.queue(job.job_id)
        await store.delete(job.job_id)
        for _ in range(100):
            if len(received) >= 4:
                break
            await asyncio.sleep(0.02)
    assert received == [(CHANNEL_JOB, f"{job.job_id} PENDING"), (CHANNEL_JOB, f"{job.job_id} QUEUED"),
                        (CHANNEL_QUEUE, job.job_id), (CHANNEL_JOB, f"{job.job_id} DELETED")]


async def test_jobs_of_a_dead_worker_become_errors(store: JobStore, uws_settings: Settings) -> None:
    alive_id = await store.register_worker("test", 1)
    dead_id = await store.register_worker("test", 2)
    alive_job, dead_job = make_job(QUEUED), make_job(QUEUED)
    await store.insert(alive_job)
    await store.insert(dead_job)
    async with _listening(uws_settings, worker_id=alive_id):
        await store.claim(alive_id)
        await store.claim(dead_id)  # nobody holds dead_id's lock
        failed = await store.fail_orphans("worker died", stale_after_s=60)
        assert [s.job_id for s in failed] == [dead_job.job_id]
        alive, dead = await store.get(alive_job.job_id), await store.get(dead_job.job_id)
        assert alive is not None and alive.phase == EXECUTING
        assert dead is not None and dead.phase == ExecutionPhase.ERROR
        assert dead.error == JobError("worker died", "transient", True)
    # the listener's session ended: its lock is free, so its job is orphaned too
    for _ in range(50):
        if await store.fail_orphans("worker died", stale_after_s=60):
            break
        await asyncio.sleep(0.05)
    alive = await store.get(alive_job.job_id)
    assert alive is not None and alive.phase == ExecutionPhase.ERROR


async def test_stale_heartbeat_is_a_dead_worker(store: JobStore, owner_pool: AsyncConnectionPool[Any],
                                                uws_settings: Settings) -> None:
    worker_id = await store.register_worker("test", 3)
    job = make_job(QUEUED)
    await store.insert(job)
    async with _listening(uws_settings, worker_id=worker_id):
        await store.claim(worker_id)
        async with owner_pool.connection() as conn:
            await conn.execute("UPDATE uws.worker SET heartbeat = now() - interval '2 minutes' WHERE worker_id = %s",
                               [worker_id])
        assert [s.job_id for s in await store.fail_orphans("hung", stale_after_s=60)] == [job.job_id]


async def test_expired_jobs_are_deleted(store: JobStore) -> None:
    expired, kept = make_job(destruction=timedelta(seconds=-1)), make_job()
    await store.insert(expired)
    await store.insert(kept)
    assert [s.job_id for s in await store.delete_expired()] == [expired.job_id]
    assert await store.get(kept.job_id) is not None
    assert await store.existing([expired.job_id, kept.job_id]) == {kept.job_id}


def test_the_query_role_cannot_read_jobs(query_dsn: str) -> None:
    with psycopg.connect(query_dsn) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT * FROM uws.job")
