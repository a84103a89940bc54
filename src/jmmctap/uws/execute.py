"""Run one job's TAP query into its stored result: the sync path (``tapquery.open_query``) writing to the results store.

The job's parameters are validated here, when the job runs (TAP 1.1 §2.7); uploads become temporary
tables on the query connection; the writer's bytes go to the results store (``uws/resultstore.py``) as they
are encoded, and become the job's result once complete. With ``JMMCTAP_GZIP_LEVEL`` above 0 they are gzipped
on the way: 3-5 times less storage, and gzip clients get the stored bytes as they are. A query that fails
while rows stream makes the job fail (the partial result is discarded).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass

import anyio

from jmmctap import dali
from jmmctap.compression import Coding, compress_stream
from jmmctap.db.pools import Pools
from jmmctap.settings import Settings
from jmmctap.tapquery import open_query
from jmmctap.tapschema.live import LiveTapSchema
from jmmctap.uws.models import Job, JobResult
from jmmctap.uws.resultstore import ResultStore, ResultWriter

__all__ = ["JobExecutor"]


@dataclass(frozen=True)
class JobExecutor:
    """What a worker needs to run jobs: pools, the current TAP_SCHEMA, settings and the results store."""

    pools: Pools
    tap_schema: LiveTapSchema
    settings: Settings
    results: ResultStore

    async def __call__(self, job: Job, timeout_s: float, on_backend: Callable[[int], Awaitable[None]]) -> JobResult:
        """Run ``job``; return its result metadata.

        Raises
        ------
        JmmctapError
            Bad parameters, bad ADQL, a bad upload or a failing query: the job's error message.
        """
        request = dali.parse_tap_parameters(job.parameter_map(), self.settings)
        coding = Coding("gzip", self.settings.gzip_level) if self.settings.gzip_level > 0 else None
        async with self.results.local_uploads(job.job_id, job.upload_files) as sources, open_query(
            self.pools, self.tap_schema, self.settings, request, principal=job.principal,
            timeout_s=timeout_s, files=sources, job_id=job.job_id, on_connection=on_backend,
            label=f"job {job.job_id}", client="uws",
        ) as prepared:
            watched = prepared.log  # rows and a midway error, as the writer saw them
            async with self.results.result_writer(job.job_id, coding is not None) as writer:
                body = prepared.body()
                stored = body if coding is None else compress_stream(body, coding)
                try:
                    await _write(writer, stored)
                finally:
                    with anyio.CancelScope(shield=True):
                        await stored.aclose()
                        await body.aclose()  # logs the query line now, also when the job is stopped
                if watched.error is not None:
                    raise watched.error  # the writer discards what it has
                await writer.publish()
        # the size of the result itself (UWS), which gzip clients receive compressed
        return JobResult(prepared.writer.media_type, watched.bytes, watched.rows, prepared.stream.overflowed)


async def _write(writer: ResultWriter, chunks: AsyncIterable[bytes]) -> None:
    async for chunk in chunks:
        await writer.write(chunk)
