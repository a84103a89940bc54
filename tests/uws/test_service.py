"""Job service decisions: creation controls, limits, phase rules, blocking WAIT (no worker runs jobs here)."""

from __future__ import annotations

import asyncio
import io
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from jmmctap.auth import ANONYMOUS, Principal
from jmmctap.errors import NotFoundError, UsageError
from jmmctap.uws.models import ExecutionPhase, JobStateError
from jmmctap.uws.runtime import UwsRuntime
from jmmctap.uws.service import WAIT_CAP_S, JobService, parse_instant
from tests.uws.conftest import read_stored

QUERY = {"LANG": ["ADQL"], "QUERY": ["SELECT 1"]}
ALICE = Principal("alice")


def _service(runtime: UwsRuntime) -> JobService:
    return runtime.service


async def test_new_job_is_pending_with_the_default_limits(runtime: UwsRuntime) -> None:
    service = _service(runtime)
    job = await service.create({**QUERY, "RUNID": ["r1"]}, {}, ANONYMOUS)
    assert (job.phase, job.run_id, job.execution_duration_s) == (ExecutionPhase.PENDING, "r1", 600)
    assert timedelta(days=6.9) < job.destruction - job.creation_time <= timedelta(days=7)
    assert len(job.job_id) >= 20  # unguessable
    stored = await service.get(job.job_id, ANONYMOUS)
    assert [p.name for p in stored.parameters] == ["LANG", "QUERY", "RUNID"]


async def test_phase_run_at_creation_queues_the_job(runtime: UwsRuntime) -> None:
    job = await _service(runtime).create({**QUERY, "PHASE": ["RUN"]}, {}, ANONYMOUS)
    stored = await _service(runtime).get(job.job_id, ANONYMOUS)
    assert stored.phase == ExecutionPhase.QUEUED
    assert "PHASE" not in stored.parameter_map()


@pytest.mark.parametrize(("given", "expected"), [("10", 10), ("0", 3600), ("99999", 3600)])
async def test_execution_duration_is_clipped_to_the_hard_limit(runtime: UwsRuntime, given: str, expected: int) -> None:
    job = await _service(runtime).create({**QUERY, "EXECUTIONDURATION": [given]}, {}, ANONYMOUS)
    assert job.execution_duration_s == expected
    await _service(runtime).set_execution_duration(job.job_id, ANONYMOUS, "20")
    assert (await _service(runtime).get(job.job_id, ANONYMOUS)).execution_duration_s == 20


@pytest.mark.parametrize("params", [
    {"EXECUTIONDURATION": ["-1"]}, {"EXECUTIONDURATION": ["soon"]}, {"DESTRUCTION": ["tomorrow"]},
    {"PHASE": ["ABORT"]}, {"RUNID": ["a", "b"]},
])
async def test_bad_creation_controls_are_usage_errors(runtime: UwsRuntime, params: dict[str, list[str]]) -> None:
    with pytest.raises(UsageError):
        await _service(runtime).create({**QUERY, **params}, {}, ANONYMOUS)


async def test_destruction_is_kept_within_the_hard_limit(runtime: UwsRuntime) -> None:
    service = _service(runtime)
    soon = datetime.now(UTC) + timedelta(hours=1)
    job = await service.create({**QUERY, "DESTRUCTION": [soon.isoformat().replace("+00:00", "Z")]}, {}, ANONYMOUS)
    assert abs(job.destruction - soon) < timedelta(milliseconds=1)
    await service.set_destruction(job.job_id, ANONYMOUS, "2999-01-01T00:00:00Z")
    stored = await service.get(job.job_id, ANONYMOUS)
    assert stored.destruction == stored.creation_time + timedelta(days=30)


async def test_run_and_abort_follow_the_uws_phases(runtime: UwsRuntime) -> None:
    service = _service(runtime)
    job = await service.create(QUERY, {}, ANONYMOUS)
    await service.run(job.job_id, ANONYMOUS)
    assert (await service.get(job.job_id, ANONYMOUS)).phase == ExecutionPhase.QUEUED
    await service.run(job.job_id, ANONYMOUS)  # already queued: nothing changes
    with pytest.raises(JobStateError):
        await service.add_parameters(job.job_id, ANONYMOUS, {"MAXREC": ["1"]}, {})
    with pytest.raises(JobStateError):
        await service.set_execution_duration(job.job_id, ANONYMOUS, "5")
    await service.abort(job.job_id, ANONYMOUS)
    assert (await service.get(job.job_id, ANONYMOUS)).phase == ExecutionPhase.ABORTED
    with pytest.raises(JobStateError):
        await service.run(job.job_id, ANONYMOUS)


async def test_jobs_of_other_owners_are_not_found(runtime: UwsRuntime) -> None:
    service = _service(runtime)
    job = await service.create(QUERY, {}, ALICE)
    assert (await service.get(job.job_id, ALICE)).owner_id == "alice"
    for action in (service.get, service.run, service.abort, service.delete):
        with pytest.raises(NotFoundError):
            await action(job.job_id, ANONYMOUS)
    assert await service.list_jobs(ANONYMOUS, [], None, None) == []


async def test_list_filters_are_validated(runtime: UwsRuntime) -> None:
    service = _service(runtime)
    for phases, after, last in ((["DONE"], None, None), ([], "yesterday", None), ([], None, "0"), ([], None, "x")):
        with pytest.raises(UsageError):
            await service.list_jobs(ANONYMOUS, phases, after, last)
    job = await service.create(QUERY, {}, ALICE)
    listed = await service.list_jobs(ALICE, ["pending"], "2000-01-01T00:00:00Z", "3")
    assert [r.job_id for r in listed] == [job.job_id]


@pytest.mark.parametrize("results_store_kind", ["files", "database"])
async def test_uploads_are_kept_with_the_job_and_deleted_with_it(runtime: UwsRuntime) -> None:
    service = _service(runtime)
    job = await service.create({**QUERY, "UPLOAD": ["t,param:t"]}, {"t": io.BytesIO(b"<VOTABLE/>")}, ANONYMOUS)
    stored = await service.get(job.job_id, ANONYMOUS)
    assert stored.upload_files == ("t",) and await read_stored(service.results, job.job_id, "t") == b"<VOTABLE/>"
    await service.delete(job.job_id, ANONYMOUS)
    assert await read_stored(service.results, job.job_id, "t") is None
    with pytest.raises(NotFoundError):
        await service.get(job.job_id, ANONYMOUS)


@pytest.mark.parametrize("results_store_kind", ["files", "database"])
async def test_oversized_upload_is_refused(runtime: UwsRuntime, results_dir: Path,
                                           owner_pool: AsyncConnectionPool[Any]) -> None:
    service = _service(runtime)
    limit = service.settings.upload_max_bytes
    with pytest.raises(UsageError, match="limit"):
        await service.create(QUERY, {"a": io.BytesIO(b"small"), "t": io.BytesIO(b"x" * (limit + 1))}, ANONYMOUS)
    assert await service.list_jobs(ANONYMOUS, [], None, None) == []
    assert not results_dir.exists() or not any(results_dir.iterdir())  # nothing left on disk
    async with owner_pool.connection() as conn:  # nor in the database
        assert await (await conn.execute("SELECT count(*) FROM uws.stored_file")).fetchone() == (0,)


async def test_wait_returns_at_once_when_the_job_cannot_change_or_is_not_in_the_phase(runtime: UwsRuntime) -> None:
    service = _service(runtime)
    job = await service.create(QUERY, {}, ANONYMOUS)
    started = time.monotonic()
    assert (await service.wait(job.job_id, ANONYMOUS, "30", "QUEUED")).phase == ExecutionPhase.PENDING
    await service.abort(job.job_id, ANONYMOUS)
    assert (await service.wait(job.job_id, ANONYMOUS, "-1", None)).phase == ExecutionPhase.ABORTED
    assert time.monotonic() - started < 1


async def test_wait_returns_when_the_phase_changes(runtime: UwsRuntime) -> None:
    service = _service(runtime)
    job = await service.create(QUERY, {}, ANONYMOUS)

    async def change_later() -> float:
        await asyncio.sleep(0.3)
        await service.store.queue(job.job_id)  # as another process would, through the database
        return time.monotonic()

    changer = asyncio.create_task(change_later())
    waited = await service.wait(job.job_id, ANONYMOUS, "10", None)
    returned = time.monotonic()
    changed = await changer
    assert waited.phase == ExecutionPhase.QUEUED
    assert returned - changed < 0.2


async def test_wait_ends_after_the_given_seconds(runtime: UwsRuntime) -> None:
    job = await _service(runtime).create(QUERY, {}, ANONYMOUS)
    started = time.monotonic()
    assert (await _service(runtime).wait(job.job_id, ANONYMOUS, "1", None)).phase == ExecutionPhase.PENDING
    assert 0.9 < time.monotonic() - started < 2
    assert WAIT_CAP_S <= 60


async def test_wait_on_a_deleted_job_is_not_found(runtime: UwsRuntime) -> None:
    service = _service(runtime)
    job = await service.create(QUERY, {}, ANONYMOUS)
    deleter = asyncio.create_task(asyncio.sleep(0.2))
    deleter.add_done_callback(lambda _: asyncio.ensure_future(service.delete(job.job_id, ANONYMOUS)))
    with pytest.raises(NotFoundError):
        await service.wait(job.job_id, ANONYMOUS, "10", None)


def test_instants_without_zone_are_utc() -> None:
    assert parse_instant("2030-01-01T00:00:00") == datetime(2030, 1, 1, tzinfo=UTC)
    assert parse_instant("2030-01-01T02:00:00+02:00") == datetime(2030, 1, 1, tzinfo=UTC)


async def test_posted_parameters_replace_single_values_and_accumulate_uploads(runtime: UwsRuntime) -> None:
    service = _service(runtime)
    job = await service.create({**QUERY, "RUNID": ["one"], "UPLOAD": ["a,param:a"]}, {}, ANONYMOUS)
    added = {"RUNID": ["two"], "MAXREC": ["5"], "UPLOAD": ["b,param:b"]}
    await service.add_parameters(job.job_id, ANONYMOUS, added, {})
    await service.add_parameters(job.job_id, ANONYMOUS, {"MAXREC": ["7"]}, {})
    stored = await service.get(job.job_id, ANONYMOUS)
    assert stored.run_id == "two"
    assert stored.parameter_map() == {"LANG": ["ADQL"], "QUERY": ["SELECT 1"], "UPLOAD": ["a,param:a", "b,param:b"],
                                      "RUNID": ["two"], "MAXREC": ["7"]}
