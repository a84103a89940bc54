"""A job's result file: gzipped on the way to disk unless compression is off, its UWS size the uncompressed one."""

from __future__ import annotations

import gzip
from dataclasses import replace
from pathlib import Path

import pytest

from jmmctap.db.pools import open_pools
from jmmctap.settings import Settings
from jmmctap.tapschema import load_tap_schema_async
from jmmctap.tapschema.live import LiveTapSchema
from jmmctap.uws.execute import JobExecutor
from jmmctap.uws.models import ExecutionPhase, Parameter
from jmmctap.uws.runtime import open_result_store
from jmmctap.uws.store import JobStore
from tests.uws.conftest import make_job, read_stored


async def _no_backend(pid: int) -> None:
    return None


@pytest.mark.parametrize("kind", ["files", "database"])
@pytest.mark.parametrize(("level", "stored_as"), [(0, "result"), (1, "result.gz"), (9, "result.gz")])
async def test_a_result_is_stored_gzipped_unless_compression_is_off(
    uws_settings: Settings, tmp_path: Path, level: int, stored_as: str, kind: str
) -> None:
    settings = replace(uws_settings, gzip_level=level, results_dir=tmp_path, results_store=kind)
    query = "SELECT n FROM testdata.numbers ORDER BY n"
    job = make_job(ExecutionPhase.EXECUTING,
                   parameters=(Parameter("LANG", "ADQL"), Parameter("QUERY", query),
                               Parameter("RESPONSEFORMAT", "csv"), Parameter("MAXREC", "20000")))
    pools = await open_pools(settings)
    try:
        store = JobStore(pools.owner)
        await store.insert(job)  # the database store writes a result only while its job is EXECUTING
        async with pools.owner.connection() as conn:
            tap_schema = LiveTapSchema(pools.owner, await load_tap_schema_async(conn))
        results = open_result_store(settings, pools)
        result = await JobExecutor(pools, tap_schema, settings, results)(job, 60, _no_backend)
        stored = await results.stored(job.job_id)
        content = await read_stored(results, job.job_id)
        await store.delete(job.job_id)
        await results.remove(job.job_id)
    finally:
        await pools.close()
    if kind == "files":
        assert [path.name for path in tmp_path.iterdir()] == []  # removed with the job
    assert stored is not None and stored.gzipped == (level > 0) and content is not None
    assert (stored.path is not None) == (kind == "files") and (stored.path is None or stored.path.name == stored_as)
    text = gzip.decompress(content) if stored.gzipped else content
    assert text.splitlines()[:3] == [b"n", b"1", b"2"] and len(text.splitlines()) == 20001
    assert (result.size, result.rows) == (len(text), 20000) and result.mime_type.startswith("text/csv")
