"""In-process notification delivery: phase watches and the lost-wakeup-free queue signal."""

from __future__ import annotations

import asyncio

from jmmctap.uws.events import DELETED, JobEvents
from jmmctap.uws.store import CHANNEL_JOB, CHANNEL_QUEUE


async def test_a_watch_receives_only_its_jobs_phases() -> None:
    events = JobEvents()
    with events.watch("a") as watch:
        events.dispatch(CHANNEL_JOB, "b QUEUED")
        assert not await watch.wait(0.05)
        events.dispatch(CHANNEL_JOB, "a EXECUTING")
        assert await watch.wait(0.05) and watch.last == "EXECUTING"
        events.dispatch(CHANNEL_JOB, f"a {DELETED}")
        assert await watch.wait(0.05) and watch.last == DELETED
    events.dispatch(CHANNEL_JOB, "a COMPLETED")  # nobody watches any more: nothing kept


async def test_a_job_queued_before_the_wait_is_not_missed() -> None:
    events = JobEvents()
    events.dispatch(CHANNEL_QUEUE, "j")  # arrives between "look for jobs" and "wait"
    await asyncio.wait_for(events.wait_queue(timeout_s=5), 0.1)


async def test_each_queued_job_wakes_one_waiting_worker() -> None:
    events = JobEvents()
    waiters = [asyncio.create_task(events.wait_queue(timeout_s=5)) for _ in range(3)]
    await asyncio.sleep(0.01)
    events.dispatch(CHANNEL_QUEUE, "j1")
    await asyncio.sleep(0.01)
    assert sum(w.done() for w in waiters) == 1  # no thundering herd of empty claims
    events.dispatch(CHANNEL_QUEUE, "j2")
    await asyncio.sleep(0.01)
    assert sum(w.done() for w in waiters) == 2
    events.wake_all()
    await asyncio.wait_for(asyncio.gather(*waiters), 0.1)


async def test_queue_wait_times_out() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    await JobEvents().wait_queue(timeout_s=0.05)
    assert loop.time() - started >= 0.04


async def test_wake_all_wakes_every_watch_without_inventing_a_phase() -> None:
    events = JobEvents()
    with events.watch("a") as watch:
        events.wake_all()
        assert await watch.wait(0.05) and watch.last is None
