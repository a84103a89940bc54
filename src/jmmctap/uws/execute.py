"""Run one job's TAP query into its result file: the sync path (``tapquery.open_query``) writing to disk.

The job's parameters are validated here, when the job runs (TAP 1.1 §2.7); uploads become temporary
tables on the query connection; the writer's bytes go to ``result.part``, renamed to ``result`` once
complete. With ``JMMCTAP_GZIP_LEVEL`` above 0 they are gzipped on the way (``result.gz``): 3-5 times less
disk, and gzip clients get the file as it is. A query that fails while rows stream makes the job fail (the
partial file is discarded).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass
from typing import BinaryIO

import anyio

from jmmctap import dali
from jmmctap.compression import Coding, compress_stream
from jmmctap.db.pools import Pools
from jmmctap.settings import Settings
from jmmctap.tapquery import open_query
from jmmctap.tapschema.live import LiveTapSchema
from jmmctap.uws.files import JobFiles
from jmmctap.uws.models import Job, JobResult

__all__ = ["JobExecutor"]

_FLUSH_BYTES = 1 << 20
"""Result bytes gathered before one write (small results are written once, at the end)."""


@dataclass(frozen=True)
class JobExecutor:
    """What a worker needs to run jobs: pools, the current TAP_SCHEMA, settings and the job files."""

    pools: Pools
    tap_schema: LiveTapSchema
    settings: Settings
    files: JobFiles

    async def __call__(self, job: Job, timeout_s: float, on_backend: Callable[[int], Awaitable[None]]) -> JobResult:
        """Run ``job``; return its result metadata.

        Raises
        ------
        JmmctapError
            Bad parameters, bad ADQL, a bad upload or a failing query: the job's error message.
        """
        request = dali.parse_tap_parameters(job.parameter_map(), self.settings)
        sources = {name: self.files.upload_path(job.job_id, name) for name in job.upload_files}
        coding = Coding("gzip", self.settings.gzip_level) if self.settings.gzip_level > 0 else None
        async with open_query(
            self.pools, self.tap_schema, self.settings, request, principal=job.principal,
            timeout_s=timeout_s, files=sources, job_id=job.job_id, on_connection=on_backend,
            label=f"job {job.job_id}", client="uws",
        ) as prepared:
            watched = prepared.log  # rows and a midway error, as the writer saw them
            out = await anyio.to_thread.run_sync(self.files.open_partial_result, job.job_id)
            body = prepared.body()
            stored = body if coding is None else compress_stream(body, coding)
            try:
                tail = await _write(out, stored)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(self.files.discard_result, job.job_id, out)
                raise
            finally:
                with anyio.CancelScope(shield=True):
                    await stored.aclose()
                    await body.aclose()  # logs the query line now, also when the job is stopped
        if watched.error is not None:
            await anyio.to_thread.run_sync(self.files.discard_result, job.job_id, out)
            raise watched.error
        await anyio.to_thread.run_sync(self.files.publish_result, job.job_id, out, tail, coding is not None)
        # the size of the result itself (UWS), which gzip clients receive compressed
        return JobResult(prepared.writer.media_type, watched.bytes, watched.rows, prepared.stream.overflowed)


async def _write(out: BinaryIO, chunks: AsyncIterable[bytes]) -> bytes:
    """Write the chunks in blocks of ``_FLUSH_BYTES`` (one thread hop each); return the unwritten tail."""
    buffer = bytearray()
    async for chunk in chunks:
        buffer += chunk
        if len(buffer) >= _FLUSH_BYTES:
            await anyio.to_thread.run_sync(out.write, bytes(buffer))
            buffer.clear()
    return bytes(buffer)
