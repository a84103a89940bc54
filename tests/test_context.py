"""The process context: built once by one factory, reached by endpoints through ``context_of``."""

from __future__ import annotations

import pytest
from asgi_lifespan import LifespanManager
from psycopg_pool import PoolClosed
from starlette.applications import Starlette

from jmmctap.app import create_app
from jmmctap.context import context_of, open_process_context
from jmmctap.settings import Settings


def test_context_of_an_app_whose_lifespan_has_not_run_is_a_clear_bug() -> None:
    with pytest.raises(RuntimeError, match="lifespan"):
        context_of(Starlette())


async def test_the_context_holds_the_services_and_closes_its_pools(settings: Settings) -> None:
    async with open_process_context(settings, job_slots=0) as context:
        assert context.settings is settings
        assert context.tap_schema.schema.table("tap_schema.tables") is not None
        assert context.jobs.results is context.results  # one results store for jobs and endpoints
        assert context.worker_id is None  # no job slots: no registered worker
        assert context.capabilities.output_limit_rows is not None
        assert context.examples
        async with context.pools.query.connection() as conn:
            assert await (await conn.execute("SELECT 1")).fetchone() == (1,)
            await conn.rollback()
        pools = context.pools
    with pytest.raises(PoolClosed):
        async with pools.query.connection():
            pass


async def test_a_process_running_jobs_registers_a_worker(settings: Settings) -> None:
    async with open_process_context(settings, job_slots=1) as context:
        assert context.worker_id is not None


async def test_the_app_lifespan_publishes_the_context(settings: Settings) -> None:
    app = create_app(settings)
    async with LifespanManager(app):
        assert context_of(app).settings is settings
