"""The results store: where a job's result and its inline uploads are kept, chosen by ``JMMCTAP_RESULTS_STORE``.

``files`` (the default, ``uws/files.py``) keeps them in ``results_dir``, which processes on several hosts
must share; ``database`` (``uws/dbfiles.py``) keeps them in PostgreSQL, in chunks, so that any front-end
or worker sharing the database needs no shared disk (issue 21). Both stream in and out with constant
memory: a result is written chunk by chunk as it is encoded, and read by byte ranges as it is sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

__all__ = ["ResultStore", "ResultWriter", "StoredFile"]


@dataclass(frozen=True)
class StoredFile:
    """A complete stored file of a job: its result (``upload`` None) or one inline upload."""

    job_id: str
    upload: str | None
    size: int
    """Bytes as stored (the gzip stream's length when ``gzipped``)."""
    gzipped: bool
    path: Path | None = None
    """The local file (files store), sent by the OS; None: read through ``ResultStore.read``."""

    @property
    def etag(self) -> str:
        """A strong validator: a stored file never changes once complete (``If-Range``)."""
        return f'"{self.job_id}-{self.upload or ""}-{self.size}-{int(self.gzipped)}"'


class ResultWriter(Protocol):
    """A result being written: bytes in order, then ``publish``; left unpublished, it is discarded."""

    async def write(self, data: bytes) -> None: ...

    async def publish(self) -> int:
        """Make the result complete and visible; return its stored size."""
        ...


class ResultStore(Protocol):
    """Results and upload files of jobs, by job id."""

    async def save_upload(self, job_id: str, name: str, source: BinaryIO, max_bytes: int) -> int:
        """Keep the inline upload file posted as part ``name``; return its size (``UsageError`` past ``max_bytes``)."""
        ...

    def local_uploads(self, job_id: str, names: Sequence[str]) -> AbstractAsyncContextManager[Mapping[str, Path]]:
        """The job's upload files as local paths while inside the block (what the upload loader reads)."""
        ...

    def result_writer(self, job_id: str, gzipped: bool) -> AbstractAsyncContextManager[ResultWriter]:
        """Write the job's result; raises ``JobStateError`` when the job was stopped meanwhile (database store)."""
        ...

    async def stored(self, job_id: str, upload: str | None = None) -> StoredFile | None:
        """The complete result (or upload ``upload``) of the job, None when there is none."""
        ...

    def read(self, stored: StoredFile, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Bytes ``start`` to ``end`` (exclusive; None: to the end) of a stored file, a chunk at a time."""
        ...

    async def remove(self, job_id: str) -> None:
        """Delete everything kept for the job (missing is fine)."""
        ...

    async def remove_orphans(self, existing: Callable[[Sequence[str]], Awaitable[set[str]]]) -> None:
        """Delete what is kept for jobs that no longer exist (``existing`` tells which ids do)."""
        ...

