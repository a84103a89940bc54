"""The files results store (the default): one directory per job under ``results_dir``, result and inline uploads.

Layout: ``<results_dir>/<job_id>/result``, or ``result.gz`` when stored gzipped (``JMMCTAP_GZIP_LEVEL`` above
0; written as ``result.part`` and renamed when complete, so a reader never sees half a file), and
``upload-<hex of the part name>`` for each inline upload file. Directories are
shared by every process using the database, so ``results_dir`` must be a shared filesystem when processes
run on several hosts.

Results and uploads are private to the service's OS user: files 0600 in directories 0700 (job ids are
the only secret of anonymous jobs, and other local users must not read what clients posted or got).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import anyio

from jmmctap.errors import UsageError
from jmmctap.settings import Settings
from jmmctap.uws.resultstore import StoredFile

__all__ = ["ORPHAN_DIR_AGE_S", "FileResultStore", "JobFiles", "StoredResult", "open_private", "results_directory"]

ORPHAN_DIR_AGE_S = 3600.0
"""A job directory without a job row is removed once this old (never one being created)."""

_FLUSH_BYTES = 1 << 20
"""Result bytes gathered before one write (small results are written once, at the end)."""

_COPY_CHUNK_BYTES = 1 << 20
_MAX_PART_NAME = 64


def open_private(path: Path) -> BinaryIO:
    """Create (or truncate) ``path`` for writing, readable by this OS user only (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    return os.fdopen(fd, "wb")


def results_directory(settings: Settings) -> Path:
    """The configured ``results_dir``, by default ``$JMMCTAP_HOME/results``."""
    return (settings.results_dir or settings.home / "results").expanduser().absolute()


@dataclass(frozen=True)
class StoredResult:
    """A job's result file; ``gzipped``: stored as a gzip stream of the result (served as-is to gzip clients)."""

    path: Path
    gzipped: bool


class JobFiles:
    """Paths and file operations of the job directories."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def job_dir(self, job_id: str) -> Path:
        return self.root / job_id

    def make_job_dir(self, job_id: str) -> Path:
        """The job's directory, created 0700 (and the results root too, when it is new)."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.job_dir(job_id)
        path.mkdir(mode=0o700, exist_ok=True)
        return path

    def result_path(self, job_id: str, gzipped: bool = False) -> Path:
        return self.root / job_id / ("result.gz" if gzipped else "result")

    def stored_result(self, job_id: str) -> StoredResult | None:
        """The job's published result file, if there is one (gzipped or not, as it was written)."""
        for gzipped in (True, False):
            path = self.result_path(job_id, gzipped)
            if path.is_file():
                return StoredResult(path, gzipped)
        return None

    def partial_result_path(self, job_id: str) -> Path:
        return self.root / job_id / "result.part"

    def upload_path(self, job_id: str, name: str) -> Path:
        """Where the inline upload file posted as part ``name`` is kept."""
        return self.root / job_id / f"upload-{name.encode().hex()}"

    def save_upload(self, job_id: str, name: str, source: BinaryIO, max_bytes: int) -> int:
        """Copy one posted file into the job directory; return its size.

        Raises
        ------
        UsageError
            The part name is too long or the file exceeds ``max_bytes``.
        """
        if not name or len(name) > _MAX_PART_NAME:
            raise UsageError(f"an upload part name must have 1 to {_MAX_PART_NAME} characters")
        self.make_job_dir(job_id)
        target = self.upload_path(job_id, name)
        size = 0
        with open_private(target) as out:
            while chunk := source.read(_COPY_CHUNK_BYTES):
                size += len(chunk)
                if size > max_bytes:
                    out.close()
                    target.unlink(missing_ok=True)
                    raise UsageError(f"the upload {name!r} is larger than the limit of {max_bytes} bytes")
                out.write(chunk)
        return size

    def open_partial_result(self, job_id: str) -> BinaryIO:
        """Create the job directory and open ``result.part`` for writing."""
        self.make_job_dir(job_id)
        return open_private(self.partial_result_path(job_id))

    def publish_result(self, job_id: str, out: BinaryIO, tail: bytes = b"", gzipped: bool = False) -> int:
        """Write ``tail``, close the partial result and rename it to its final name; return its stored size."""
        with out:
            out.write(tail)
        final = self.result_path(job_id, gzipped)
        os.replace(self.partial_result_path(job_id), final)
        return final.stat().st_size

    def discard_result(self, job_id: str, out: BinaryIO) -> None:
        """Close and delete a partial result that will not be published."""
        out.close()
        self.partial_result_path(job_id).unlink(missing_ok=True)

    def remove(self, job_id: str) -> None:
        """Delete the job's directory and everything in it (missing is fine)."""
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    def directories_older_than(self, age_s: float) -> list[str]:
        """Job ids of directories not modified for ``age_s`` seconds (orphan candidates)."""
        if not self.root.is_dir():
            return []
        limit = time.time() - age_s
        found = []
        for entry in os.scandir(self.root):
            try:
                if entry.is_dir(follow_symlinks=False) and entry.stat().st_mtime < limit:
                    found.append(entry.name)
            except OSError:
                continue
        return found


class _FileResultWriter:
    """``result.part`` written in blocks of ``_FLUSH_BYTES`` (one thread hop each), renamed by ``publish``."""

    def __init__(self, files: JobFiles, job_id: str, out: BinaryIO, gzipped: bool) -> None:
        self._files, self._job_id, self._out, self._gzipped = files, job_id, out, gzipped
        self._buffer = bytearray()
        self.published = False

    async def write(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) >= _FLUSH_BYTES:
            await anyio.to_thread.run_sync(self._out.write, bytes(self._buffer))
            self._buffer.clear()

    async def publish(self) -> int:
        size = await anyio.to_thread.run_sync(
            self._files.publish_result, self._job_id, self._out, bytes(self._buffer), self._gzipped
        )
        self.published = True
        return size


class FileResultStore:
    """``ResultStore`` on the job directories of ``JobFiles`` (the blocking calls run in worker threads)."""

    def __init__(self, files: JobFiles) -> None:
        self.files = files

    async def save_upload(self, job_id: str, name: str, source: BinaryIO, max_bytes: int) -> int:
        return await anyio.to_thread.run_sync(self.files.save_upload, job_id, name, source, max_bytes)

    @contextlib.asynccontextmanager
    async def local_uploads(self, job_id: str, names: Sequence[str]) -> AsyncIterator[Mapping[str, Path]]:
        yield {name: self.files.upload_path(job_id, name) for name in names}

    @contextlib.asynccontextmanager
    async def result_writer(self, job_id: str, gzipped: bool) -> AsyncIterator[_FileResultWriter]:
        out = await anyio.to_thread.run_sync(self.files.open_partial_result, job_id)
        writer = _FileResultWriter(self.files, job_id, out, gzipped)
        try:
            yield writer
        finally:
            if not writer.published:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(self.files.discard_result, job_id, out)

    async def stored(self, job_id: str, upload: str | None = None) -> StoredFile | None:
        def find() -> StoredFile | None:
            if upload is None:
                found = self.files.stored_result(job_id)
                if found is None:
                    return None
                path, gzipped = found.path, found.gzipped
            else:
                path, gzipped = self.files.upload_path(job_id, upload), False
            try:
                size = path.stat().st_size
            except OSError:
                return None
            return StoredFile(job_id, upload, size, gzipped, path)
        return await anyio.to_thread.run_sync(find)

    async def read(self, stored: StoredFile, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        assert stored.path is not None, "files of this store are local"
        source = await anyio.to_thread.run_sync(stored.path.open, "rb")
        try:
            await anyio.to_thread.run_sync(source.seek, start)
            left = (stored.size if end is None else end) - start
            while left > 0 and (chunk := await anyio.to_thread.run_sync(source.read, min(left, _FLUSH_BYTES))):
                left -= len(chunk)
                yield chunk
        finally:
            source.close()

    async def remove(self, job_id: str) -> None:
        await anyio.to_thread.run_sync(self.files.remove, job_id)

    async def remove_orphans(self, existing: Callable[[Sequence[str]], Awaitable[set[str]]]) -> None:
        candidates = await anyio.to_thread.run_sync(self.files.directories_older_than, ORPHAN_DIR_AGE_S)
        if candidates:
            alive = await existing(candidates)
            for job_id in set(candidates) - alive:
                await self.remove(job_id)
