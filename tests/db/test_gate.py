"""The query gate: active slots, stalled readers set aside, fair shares per client, long holds reported."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from psycopg_pool import AsyncConnectionPool

from jmmctap.db.gate import GateLimits, QueryGate
from jmmctap.errors import ServiceUnavailableError, TooManyRequestsError
from tests.support.pools import open_query_pool


@pytest.fixture
async def pool(query_dsn: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    async with open_query_pool(query_dsn, 4) as p:
        yield p


async def test_a_full_gate_answers_503_and_a_set_aside_lease_frees_its_slot(
    pool: AsyncConnectionPool[Any]
) -> None:
    gate = QueryGate(pool, GateLimits(active=2, slow=1, per_client=10, queue_wait_s=0.2))
    first, second = await gate.acquire("a", "c1", 10), await gate.acquire("b", "c2", 10)
    with pytest.raises(ServiceUnavailableError) as refused:
        await gate.acquire("c", "c3", 10)
    assert refused.value.http_status == 503 and refused.value.retry_after_s > 0
    assert gate.set_aside(first)
    assert not gate.set_aside(second)  # the one slow slot is taken
    third = await gate.acquire("c", "c3", 10)
    assert gate.stats()["in_use"] == 3 and gate.stats()["slow"] == 1
    for lease in (first, second, third, first):  # releasing twice is harmless
        await gate.release(lease)
    assert gate.stats()["in_use"] == 0 and gate.stats()["slow"] == 0
    assert [await gate.acquire(x, "c", 10) for x in "de"]  # both active slots are free again


async def test_one_client_gets_429_beyond_its_share(pool: AsyncConnectionPool[Any]) -> None:
    gate = QueryGate(pool, GateLimits(active=3, slow=0, per_client=2, queue_wait_s=1))
    leases = [await gate.acquire("q", "greedy", 10) for _ in range(2)]
    with pytest.raises(TooManyRequestsError) as refused:
        await gate.acquire("q", "greedy", 10)
    assert refused.value.http_status == 429
    other = await gate.acquire("q", "polite", 10)
    for lease in (*leases, other):
        await gate.release(lease)
    await gate.release(await gate.acquire("q", "greedy", 10))


async def test_a_connection_held_past_its_limit_is_logged_once_with_its_request(
    pool: AsyncConnectionPool[Any], caplog: pytest.LogCaptureFixture
) -> None:
    gate = QueryGate(pool, GateLimits(active=2, slow=0, per_client=2, queue_wait_s=1, hold_margin_s=0))
    held = await gate.acquire("POST /tap/sync adql:abc", "203.0.113.9", 0)
    quick = await gate.acquire("GET /scs/jsdc", "203.0.113.9", 3600)
    with caplog.at_level(logging.WARNING, logger="jmmctap.db.gate"):
        async with anyio.create_task_group() as group:
            group.start_soon(gate.watch, 0.01)
            await anyio.sleep(0.2)
            group.cancel_scope.cancel()
    lines = [r.getMessage() for r in caplog.records if "held for" in r.getMessage()]
    assert len(lines) == 1
    assert "POST /tap/sync adql:abc" in lines[0] and "203.0.113.9" in lines[0]
    await gate.release(held)
    await gate.release(quick)
