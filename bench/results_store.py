"""Time the two results stores (JMMCTAP_RESULTS_STORE=files|database) writing and reading one async result.

The result is a CSV of ``--rows`` synthetic rows (five columns, about 60 bytes a row), stored as the
async writer stores it: gzipped at level 1 (the default ``JMMCTAP_GZIP_LEVEL``) or, with ``--raw``, as
it is. The bytes are prepared first, so only the store is timed: written in 64 KiB pieces (what the
compressor hands the writer) through ``result_writer`` and published, then read back whole through
``read`` (what a result download does). Each store runs ``--repeat`` times, alternately; the median is
reported, and the ratio database / files.

The database is the one of ``JMMCTAP_HOME`` (``jmmctap db init`` first), with its own durability
settings: the database store commits each 1 MiB chunk, and waits for its WAL flush.

    JMMCTAP_HOME=/tmp/bench-results .venv/bin/jmmctap db init
    JMMCTAP_HOME=/tmp/bench-results .venv/bin/python bench/results_store.py --rows 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jmmctap.db.pools import open_pools
from jmmctap.settings import Settings
from jmmctap.uws.models import ExecutionPhase, Job
from jmmctap.uws.resultstore import ResultStore
from jmmctap.uws.runtime import open_result_store
from jmmctap.uws.service import new_job_id
from jmmctap.uws.store import JobStore

PIECE_BYTES = 64 * 1024
"""Bytes handed to the writer at a time."""


def make_result(rows: int, gzipped: bool) -> list[bytes]:
    """The stored bytes of a CSV result, in ``PIECE_BYTES`` pieces."""
    compressor = zlib.compressobj(1, wbits=31) if gzipped else None
    data = bytearray(b"n,x,label,ra,dec\n")
    pieces: list[bytes] = []
    for n in range(1, rows + 1):
        data += b"%d,%.4f,star %d,%.6f,%.6f\n" % (n, n * 0.25, n, (n * 0.018) % 360, ((n * 0.007) % 180) - 90)
        if len(data) >= PIECE_BYTES:
            pieces.append(bytes(data) if compressor is None else compressor.compress(bytes(data)))
            data.clear()
    pieces.append(bytes(data) if compressor is None else compressor.compress(bytes(data)) + compressor.flush())
    return [piece for piece in pieces if piece]


async def run_once(store: ResultStore, jobs: JobStore, pieces: list[bytes], gzipped: bool) -> tuple[float, float]:
    """Seconds to write and publish the result, then to read it back whole."""
    now = datetime.now(UTC)
    job = Job(job_id=new_job_id(), phase=ExecutionPhase.EXECUTING, run_id=None, owner_id=None, creation_time=now,
              start_time=None, end_time=None, execution_duration_s=600, destruction=now + timedelta(days=1),
              quote=None)
    await jobs.insert(job)
    try:
        began = time.perf_counter()
        async with store.result_writer(job.job_id, gzipped) as writer:
            for piece in pieces:
                await writer.write(piece)
            size = await writer.publish()
        written = time.perf_counter() - began
        stored = await store.stored(job.job_id)
        assert stored is not None and stored.size == size == sum(map(len, pieces))
        began = time.perf_counter()
        read = 0
        async for chunk in store.read(stored):
            read += len(chunk)
        assert read == size
        return written, time.perf_counter() - began
    finally:
        await jobs.delete(job.job_id)
        await store.remove(job.job_id)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--raw", action="store_true", help="store uncompressed (JMMCTAP_GZIP_LEVEL=0)")
    args = parser.parse_args()
    pieces = make_result(args.rows, gzipped=not args.raw)
    size = sum(map(len, pieces))
    print(f"{args.rows} rows, {size / 1e6:.1f} MB stored ({'raw' if args.raw else 'gzip level 1'})")
    with tempfile.TemporaryDirectory(prefix="jmmctap-bench-results-") as directory:
        settings = replace(Settings.from_env(), results_dir=Path(directory))
        pools = await open_pools(settings)
        try:
            jobs = JobStore(pools.owner)
            stores = {kind: open_result_store(replace(settings, results_store=kind), pools)
                      for kind in ("files", "database")}
            timings: dict[str, list[tuple[float, float]]] = {kind: [] for kind in stores}
            for _ in range(args.repeat):
                for kind, store in stores.items():
                    timings[kind].append(await run_once(store, jobs, pieces, gzipped=not args.raw))
        finally:
            await pools.close()
    medians = {kind: (statistics.median(t[0] for t in runs), statistics.median(t[1] for t in runs))
               for kind, runs in timings.items()}
    for kind, (write, read) in medians.items():
        print(f"{kind:9} write {write:6.3f} s ({size / write / 1e6:6.0f} MB/s)   "
              f"read {read:6.3f} s ({size / read / 1e6:6.0f} MB/s)")
    (fw, fr), (dw, dr) = medians["files"], medians["database"]
    print(f"ratio database/files: write {dw / fw:.1f}x, read {dr / fr:.1f}x")


if __name__ == "__main__":
    asyncio.run(main())
