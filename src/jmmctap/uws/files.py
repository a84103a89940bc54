"""The files of UWS jobs: one directory per job under ``results_dir``, with the result and inline uploads.

Layout: ``<results_dir>/<job_id>/result``, or ``result.gz`` when stored gzipped (``JMMCTAP_GZIP_LEVEL`` above
0; written as ``result.part`` and renamed when complete, so a reader never sees half a file), and
``upload-<hex of the part name>`` for each inline upload file. Directories are
shared by every process using the database, so ``results_dir`` must be a shared filesystem when processes
run on several hosts.

Results and uploads are private to the service's OS user: files 0600 in directories 0700 (job ids are
the only secret of anonymous jobs, and other local users must not read what clients posted or got).
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from jmmctap.errors import UsageError
from jmmctap.settings import Settings

__all__ = ["JobFiles", "StoredResult", "open_private", "results_directory"]

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
