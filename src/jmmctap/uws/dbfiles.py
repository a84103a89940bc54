"""The database results store: job results and uploads in PostgreSQL, ``CHUNK_BYTES`` at a time (no shared disk).

Tables ``uws.stored_file`` and ``uws.stored_chunk`` (``sql/0042_uws_stored_files.sql``, which says why
chunks rather than large objects). Every statement is short, on a pooled owner connection:

- a result is written as it is encoded, one chunk per statement, so neither the writer's memory nor a
  transaction grows with the result; it becomes visible when ``publish`` sets its size. Its row is
  created only while the job is EXECUTING (the job row is locked ``FOR SHARE``), and the triggers delete
  it when the job is deleted, fails, is aborted or handed back, in that same transaction: the writer's
  next chunk then fails on the foreign key and the job stops. No chunk outlives its job.
- a read asks for one chunk per statement, so a client that reads slowly holds no connection and no
  transaction between two chunks, and a byte range starts at its own chunk.
- an upload is stored in one transaction (all or nothing), before the job row exists (the creation of a
  job stores its uploads first): the sweeper removes those of a job whose creation never committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import anyio
import psycopg
from psycopg_pool import AsyncConnectionPool

from jmmctap.errors import JobStateError, UsageError
from jmmctap.uws.files import ORPHAN_DIR_AGE_S, open_private
from jmmctap.uws.resultstore import StoredFile

__all__ = ["CHUNK_BYTES", "DatabaseResultStore"]

CHUNK_BYTES = 1 << 20
"""Bytes per stored chunk (1 MiB): few statements per result, little memory per reader and writer."""

_RESULT = "result"
_MAX_PART_NAME = 64
_STOPPED = "the job was stopped while its result was written"


@contextlib.asynccontextmanager
async def _connection(pool: AsyncConnectionPool[Any]) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A pooled connection whose return cannot be interrupted (a download cancelled when its client goes,
    a writer cancelled when its job is aborted): see ``uws.store.JobStore._connection``."""
    conn = await pool.getconn()
    try:
        yield conn
    finally:
        await asyncio.shield(pool.putconn(conn))


def _key(upload: str | None) -> str:
    return _RESULT if upload is None else f"upload:{upload}"


class _DatabaseResultWriter:
    """Chunks of exactly ``CHUNK_BYTES`` (the last one shorter), each inserted as soon as it is full."""

    def __init__(self, pool: AsyncConnectionPool[Any], job_id: str) -> None:
        self._pool, self._job_id = pool, job_id
        self._buffer = bytearray()
        self._seq = 0
        self._size = 0
        self.published = False

    async def write(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= CHUNK_BYTES:
            await self._insert(bytes(self._buffer[:CHUNK_BYTES]))
            del self._buffer[:CHUNK_BYTES]

    async def publish(self) -> int:
        if self._buffer or self._seq == 0:
            await self._insert(bytes(self._buffer))
            self._buffer.clear()
        async with _connection(self._pool) as conn:
            cursor = await conn.execute(
                "UPDATE uws.stored_file SET size = %s WHERE job_id = %s AND name = %s AND size IS NULL",
                [self._size, self._job_id, _RESULT],
            )
        if cursor.rowcount != 1:
            raise JobStateError(_STOPPED)
        self.published = True
        return self._size

    async def _insert(self, data: bytes) -> None:
        try:
            async with _connection(self._pool) as conn:
                await conn.execute(
                    "INSERT INTO uws.stored_chunk (job_id, name, seq, data) VALUES (%s, %s, %s, %s)",
                    [self._job_id, _RESULT, self._seq, data],
                )
        except psycopg.errors.ForeignKeyViolation:  # the triggers removed the result: the job was stopped
            raise JobStateError(_STOPPED) from None
        self._seq += 1
        self._size += len(data)


class DatabaseResultStore:
    """``ResultStore`` in schema ``uws`` of the service's database.

    Parameters
    ----------
    pool
        The owner pool (autocommit connections); the query role has no privilege on ``uws``.
    """

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool

    async def save_upload(self, job_id: str, name: str, source: BinaryIO, max_bytes: int) -> int:
        if not name or len(name) > _MAX_PART_NAME:
            raise UsageError(f"an upload part name must have 1 to {_MAX_PART_NAME} characters")
        key, size, seq = _key(name), 0, 0
        async with _connection(self._pool) as conn, conn.transaction():  # all or nothing
            await conn.execute("DELETE FROM uws.stored_file WHERE job_id = %s AND name = %s", [job_id, key])
            await conn.execute(
                "INSERT INTO uws.stored_file (job_id, name, chunk_bytes) VALUES (%s, %s, %s)",
                [job_id, key, CHUNK_BYTES],
            )
            buffer = bytearray()
            while True:
                data = await anyio.to_thread.run_sync(source.read, CHUNK_BYTES)
                size += len(data)
                if size > max_bytes:
                    raise UsageError(f"the upload {name!r} is larger than the limit of {max_bytes} bytes")
                buffer += data
                while len(buffer) >= CHUNK_BYTES or (buffer and not data):  # fixed-size chunks, the last shorter
                    await conn.execute(
                        "INSERT INTO uws.stored_chunk (job_id, name, seq, data) VALUES (%s, %s, %s, %s)",
                        [job_id, key, seq, bytes(buffer[:CHUNK_BYTES])],
                    )
                    del buffer[:CHUNK_BYTES]
                    seq += 1
                if not data:
                    break
            await conn.execute("UPDATE uws.stored_file SET size = %s WHERE job_id = %s AND name = %s",
                               [size, job_id, key])
        return size

    @contextlib.asynccontextmanager
    async def local_uploads(self, job_id: str, names: Sequence[str]) -> AsyncIterator[Mapping[str, Path]]:
        """Each upload copied, a chunk at a time, into a private temporary directory removed at the end."""
        workdir = Path(await anyio.to_thread.run_sync(lambda: tempfile.mkdtemp(prefix="jmmctap-job-")))
        try:
            paths: dict[str, Path] = {}
            for name in names:
                stored = await self.stored(job_id, name)
                if stored is None:
                    continue  # the loader reports the missing file as it does for any upload
                path = workdir / f"upload-{name.encode().hex()}"
                out = await anyio.to_thread.run_sync(open_private, path)
                try:
                    async for chunk in self.read(stored):
                        await anyio.to_thread.run_sync(out.write, chunk)
                finally:
                    out.close()
                paths[name] = path
            yield paths
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(lambda: shutil.rmtree(workdir, ignore_errors=True))

    @contextlib.asynccontextmanager
    async def result_writer(self, job_id: str, gzipped: bool) -> AsyncIterator[_DatabaseResultWriter]:
        async with _connection(self._pool) as conn, conn.transaction():
            await conn.execute("DELETE FROM uws.stored_file WHERE job_id = %s AND name = %s", [job_id, _RESULT])
            cursor = await conn.execute(
                "INSERT INTO uws.stored_file (job_id, name, gzipped, chunk_bytes)"
                " SELECT job_id, %s, %s, %s FROM uws.job WHERE job_id = %s AND phase = 'EXECUTING' FOR SHARE",
                [_RESULT, gzipped, CHUNK_BYTES, job_id],
            )
        if cursor.rowcount != 1:
            raise JobStateError(_STOPPED)
        writer = _DatabaseResultWriter(self._pool, job_id)
        try:
            yield writer
        finally:
            if not writer.published:
                with anyio.CancelScope(shield=True):
                    await self._delete(job_id, _RESULT)

    async def stored(self, job_id: str, upload: str | None = None) -> StoredFile | None:
        async with _connection(self._pool) as conn:
            cursor = await conn.execute(
                "SELECT size, gzipped FROM uws.stored_file WHERE job_id = %s AND name = %s AND size IS NOT NULL",
                [job_id, _key(upload)],
            )
            row = await cursor.fetchone()
        return None if row is None else StoredFile(job_id, upload, int(row[0]), bool(row[1]))

    async def read(self, stored: StoredFile, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The chunks covering the range, trimmed; ends early if the file is deleted meanwhile (job deleted)."""
        end = stored.size if end is None else min(end, stored.size)
        key = _key(stored.upload)
        async with _connection(self._pool) as conn:
            cursor = await conn.execute("SELECT chunk_bytes FROM uws.stored_file WHERE job_id = %s AND name = %s",
                                        [stored.job_id, key])
            row = await cursor.fetchone()
        if row is None:
            return
        chunk_bytes = int(row[0])
        position = start
        while position < end:
            seq, offset = divmod(position, chunk_bytes)
            async with _connection(self._pool) as conn:
                cursor = await conn.execute(
                    "SELECT data FROM uws.stored_chunk WHERE job_id = %s AND name = %s AND seq = %s",
                    [stored.job_id, key, seq],
                )
                found = await cursor.fetchone()
            if found is None:
                return
            data = bytes(found[0][offset:offset + end - position])
            if not data:
                return
            position += len(data)
            yield data

    async def remove(self, job_id: str) -> None:
        async with _connection(self._pool) as conn:
            await conn.execute("DELETE FROM uws.stored_file WHERE job_id = %s", [job_id])

    async def remove_orphans(self, existing: Callable[[Sequence[str]], Awaitable[set[str]]]) -> None:
        """Files of jobs whose creation never committed, and results left half-written by a dead process."""
        async with _connection(self._pool) as conn:
            await conn.execute(
                "DELETE FROM uws.stored_file f"
                " WHERE f.created < now() - make_interval(secs => %s::float8)"
                "   AND (NOT EXISTS (SELECT 1 FROM uws.job j WHERE j.job_id = f.job_id)"
                "        OR (f.size IS NULL AND f.name = 'result' AND NOT EXISTS"
                "            (SELECT 1 FROM uws.job j WHERE j.job_id = f.job_id AND j.phase = 'EXECUTING')))",
                [ORPHAN_DIR_AGE_S],
            )

    async def _delete(self, job_id: str, key: str) -> None:
        async with _connection(self._pool) as conn:
            await conn.execute("DELETE FROM uws.stored_file WHERE job_id = %s AND name = %s", [job_id, key])
