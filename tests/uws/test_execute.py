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
from jmmctap.uws.files import JobFiles
from jmmctap.uws.models import Parameter
from tests.uws.conftest import make_job


async def _no_backend(pid: int) -> None:
    return None


@pytest.mark.parametrize(("level", "stored_as"), [(0, "result"), (1, "result.gz"), (9, "result.gz")])
async def test_a_result_is_stored_gzipped_unless_compression_is_off(
    uws_settings: Settings, tmp_path: Path, level: int, stored_as: str
) -> None:
    settings = replace(uws_settings, gzip_level=level)
    files = JobFiles(tmp_path)
    query = "SELECT n FROM testdata.numbers ORDER BY n"
    job = make_job(parameters=(Parameter("LANG", "ADQL"), Parameter("QUERY", query), Parameter("RESPONSEFORMAT", "csv"),
                               Parameter("MAXREC", "20000")))
    pools = await open_pools(settings)
    try:
        async with pools.owner.connection() as conn:
            tap_schema = LiveTapSchema(pools.owner, await load_tap_schema_async(conn))
        result = await JobExecutor(pools, tap_schema, settings, files)(job, 60, _no_backend)
    finally:
        await pools.close()
    assert [path.name for path in files.job_dir(job.job_id).iterdir()] == [stored_as]
    stored = files.stored_result(job.job_id)
    assert stored is not None and stored.gzipped == (level > 0)
    content = stored.path.read_bytes()
    text = gzip.decompress(content) if stored.gzipped else content
    assert text.splitlines()[:3] == [b"n", b"1", b"2"] and len(text.splitlines()) == 20001
    assert (result.size, result.rows) == (len(text), 20000) and result.mime_type.startswith("text/csv")
