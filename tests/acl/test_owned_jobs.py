"""Owned async jobs: a user reaches only its own jobs; anonymous jobs by their URL only, listed to no one."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable

import httpx
import pytest
from starlette.applications import Starlette

from jmmctap.auth import ANONYMOUS, Principal
from jmmctap.context import context_of
from jmmctap.errors import NotFoundError
from jmmctap.uws.models import ExecutionPhase, Job
from jmmctap.uws.service import JobService
from tests.acl.conftest import ALICE, BOB
from tests.support.principals import run_job_as

QUERY = {"LANG": ["ADQL"], "QUERY": ["SELECT TOP 1 obs_id FROM ivoa.obscore"]}

Action = Callable[[JobService, str, Principal], Awaitable[object]]
ACTIONS: dict[str, Action] = {
    "read": lambda s, j, p: s.get(j, p),
    "wait": lambda s, j, p: s.wait(j, p, "1", None),
    "run": lambda s, j, p: s.run(j, p),
    "abort": lambda s, j, p: s.abort(j, p),
    "delete": lambda s, j, p: s.delete(j, p),
    "add parameters": lambda s, j, p: s.add_parameters(j, p, {"MAXREC": ["1"]}, {}),
    "add an upload": lambda s, j, p: s.add_parameters(j, p, {"UPLOAD": ["t,param:t"]}, {"t": io.BytesIO(b"<x/>")}),
    "set the execution duration": lambda s, j, p: s.set_execution_duration(j, p, "10"),
    "set the destruction": lambda s, j, p: s.set_destruction(j, p, "2099-01-01T00:00:00Z"),
}


@pytest.fixture
def jobs(acl_app: Starlette) -> JobService:
    return context_of(acl_app).jobs


@pytest.mark.parametrize("action", ACTIONS.values(), ids=ACTIONS.keys())
@pytest.mark.parametrize("intruder", [BOB, ANONYMOUS], ids=["bob", "anonymous"])
async def test_nobody_else_reads_or_changes_a_users_job(jobs: JobService, action: Action, intruder: Principal) -> None:
    """Another user's job is "not found", like one that never existed: a 403 would confirm that it exists."""
    job = await jobs.create(QUERY, {}, ALICE)
    with pytest.raises(NotFoundError) as refused:
        await action(jobs, job.job_id, intruder)
    with pytest.raises(NotFoundError) as missing:
        await action(jobs, "x" + job.job_id[1:], intruder)  # an id that does not exist
    assert str(refused.value).replace(job.job_id, "") == str(missing.value).replace("x" + job.job_id[1:], "")
    unchanged = await jobs.get(job.job_id, ALICE)
    assert (unchanged.phase, unchanged.parameters, unchanged.destruction) == (job.phase, job.parameters,
                                                                               job.destruction)
    await jobs.delete(job.job_id, ALICE)


async def test_users_list_their_own_jobs_and_nobody_lists_anonymous_ones(jobs: JobService) -> None:
    mine = [await jobs.create(QUERY, {}, ALICE) for _ in range(2)]
    theirs = await jobs.create(QUERY, {}, BOB)
    anonymous = await jobs.create(QUERY, {}, ANONYMOUS)
    try:
        alice_ids = {r.job_id for r in await jobs.list_jobs(ALICE, [], None, None)}
        assert {j.job_id for j in mine} <= alice_ids and not {theirs.job_id, anonymous.job_id} & alice_ids
        assert [r.job_id for r in await jobs.list_jobs(BOB, [], None, None)] == [theirs.job_id]
        assert await jobs.list_jobs(ANONYMOUS, [], None, None) == []
    finally:
        for job, owner in ((mine[0], ALICE), (mine[1], ALICE), (theirs, BOB), (anonymous, ANONYMOUS)):
            await jobs.delete(job.job_id, owner)


async def test_an_anonymous_job_is_reached_by_whoever_has_its_url(jobs: JobService) -> None:
    """Its unguessable id is the only key; a caller that logs in later keeps reaching it."""
    job = await jobs.create(QUERY, {}, ANONYMOUS)
    assert (await jobs.get(job.job_id, ANONYMOUS)).owner_id is None
    assert (await jobs.get(job.job_id, ALICE)).job_id == job.job_id
    await jobs.delete(job.job_id, ALICE)
    with pytest.raises(NotFoundError):
        await jobs.get(job.job_id, ANONYMOUS)


async def test_a_job_keeps_its_owners_groups_and_runs_for_them(acl_app: Starlette, jobs: JobService) -> None:
    job, rows = await run_job_as(acl_app, ALICE, "SELECT COUNT(*) AS n FROM ivoa.obscore"
                                                 " WHERE obs_collection = 'team_private'")
    assert (job.owner_id, job.owner_groups, job.phase) == ("alice", frozenset({"teamA"}), ExecutionPhase.COMPLETED)
    assert rows is not None and int(rows["n"][0]) == 2
    assert (await jobs.get(job.job_id, ALICE)).principal == ALICE
    await jobs.delete(job.job_id, ALICE)


async def _completed(acl_app: Starlette, who: Principal) -> Job:
    job, _ = await run_job_as(acl_app, who, "SELECT TOP 1 obs_id FROM ivoa.obscore")
    assert job.phase == ExecutionPhase.COMPLETED
    return job


PATHS = ["", "/phase", "/parameters", "/results", "/results/result", "/quote", "/owner", "/executionduration",
         "/destruction", "/error"]


@pytest.mark.parametrize("path", PATHS)
async def test_a_users_job_and_its_result_are_not_found_over_http_by_others(
        acl_app: Starlette, acl_client: httpx.AsyncClient, path: str) -> None:
    job = await _completed(acl_app, ALICE)
    try:
        response = await acl_client.get(f"/tap/async/{job.job_id}{path}")
        missing = await acl_client.get(f"/tap/async/x{job.job_id[1:]}{path}")
        assert response.status_code == missing.status_code == 404
        assert response.content.replace(job.job_id.encode(), b"") == missing.content.replace(
            b"x" + job.job_id[1:].encode(), b"")
        for write in (acl_client.delete(f"/tap/async/{job.job_id}"),
                      acl_client.post(f"/tap/async/{job.job_id}/phase", data={"PHASE": "ABORT"})):
            assert (await write).status_code == 404
        assert (await context_of(acl_app).jobs.get(job.job_id, ALICE)).phase == ExecutionPhase.COMPLETED
    finally:
        await context_of(acl_app).jobs.delete(job.job_id, ALICE)
