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
    generation = events.queue_generation
    events.dispatch(CHANNEL_QUEUE, "j")  # arrives between "look for jobs" and "wait"
    await asyncio.wait_for(events.wait_queue(generation, timeout_s=5), 0.1)


async def test_queue_waiters_wake_on_notification_and_time_out_otherwise() -> None:
    events = JobEvents()
    waiter = asyncio.create_task(events.wait_queue(events.queue_generation, timeout_s=5))
    await asyncio.sleep(0.01)
    assert not waiter.done()
    events.dispatch(CHANNEL_QUEUE, "j")
    await asyncio.wait_for(waiter, 0.1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await events.wait_queue(events.queue_generation, timeout_s=0.05)
    assert loop.time() - started >= 0.04


async def test_wake_all_wakes_every_watch_without_inventing_a_phase() -> None:
    events = JobEvents()
    with events.watch("a") as watch:
        events.wake_all()
        assert await watch.wait(0.05) and watch.last is None
