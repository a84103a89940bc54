"""The files of an OIFITS submission, on disk under their clients' names, for as long as the request lasts.

``POST /oidb/submit`` is a ``multipart/form-data`` form with file parts and text fields (``collection``,
``datapi``, ``calib_level``), or fields only with ``url`` (a hosted file, fetched by ``url_fetch``). The
files are copied into a private temporary directory named after the client's file name (the name is the
granule's ``obs_id`` when the file has no ARCFILE, and the stored file's name); the directory goes when the
block ends, whatever happens. Each file is limited to ``JMMCTAP_OIFITS_SUBMIT_MAX_BYTES`` (HTTP 413), and
the body to ``MAX_FILES`` of them.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import anyio
from starlette.datastructures import UploadFile
from starlette.requests import Request

from jmmctap.dali import FORM_OVERHEAD_BYTES, MAX_NAME_CHARS, check_text, limit_body
from jmmctap.errors import JmmctapError, PayloadTooLargeError, UsageError
from jmmctap.settings import Settings
from jmmctap.submissions.oifits_submit import Submission
from jmmctap.submissions.url_fetch import FetchLimits, fetch_url, safe_file_name

__all__ = ["MAX_FILES", "SubmittedFiles", "parse_submission", "receive_submission"]

MAX_FILES = 50
"""Most files in one submission."""

_COPY_CHUNK_BYTES = 1 << 20
_MAX_FIELDS = 16


@dataclass(frozen=True)
class SubmittedFiles:
    """The request's text fields (lower-cased names) and its files, on disk."""

    fields: Mapping[str, str]
    paths: tuple[Path, ...]


@contextlib.asynccontextmanager
async def receive_submission(request: Request, settings: Settings) -> AsyncIterator[SubmittedFiles]:
    """The posted (or fetched) files in a temporary directory, removed when the block ends.

    Raises
    ------
    PayloadTooLargeError
        A file larger than the limit, or a body larger than ``MAX_FILES`` of them.
    UsageError
        No file and no url, both, duplicate file names, a malformed form.
    """
    max_bytes = settings.oifits_submit_max_bytes
    with tempfile.TemporaryDirectory(prefix="jmmctap-oifits-") as name:
        directory = Path(name)
        fields = {k.lower(): check_text(v, f"the {k[:MAX_NAME_CHARS]} parameter")
                  for k, v in request.query_params.multi_items()}
        paths = await _receive_form(request, max_bytes, directory, fields)
        url = fields.get("url", "").strip()
        if url and paths:
            raise UsageError("send files or a url, not both")
        if url:
            limits = FetchLimits(max_bytes, settings.oifits_submit_url_timeout_s, settings.oifits_submit_private_urls)
            paths = [await fetch_url(url, directory, limits)]
        if not paths:
            raise UsageError("the submission holds no file: send OIFITS files as multipart/form-data parts, or a url")
        yield SubmittedFiles(fields, tuple(paths))


def parse_submission(fields: Mapping[str, str]) -> Submission:
    """The collection, data PI and calibration level asked for (``calib_level`` 2 unless given).

    Raises
    ------
    UsageError
        No collection, a calibration level that is not 1, 2 or 3.
    """
    collection = fields.get("collection", "").strip()
    if not collection:
        raise UsageError("name the collection of the granules (collection=...)")
    level = fields.get("calib_level", "2").strip()
    if level not in ("1", "2", "3"):
        raise UsageError(f"calib_level must be 1, 2 or 3, not {level[:20]!r}")
    return Submission(collection, fields.get("datapi", "").strip() or None, int(level))


async def _receive_form(request: Request, max_bytes: int, directory: Path, fields: dict[str, str]) -> list[Path]:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        raise UsageError("send a multipart/form-data form (files and fields) or a form with a url")
    limit_body(request, MAX_FILES * max_bytes + FORM_OVERHEAD_BYTES)
    try:
        form = await request.form(max_files=MAX_FILES, max_fields=_MAX_FIELDS)
    except JmmctapError:
        raise
    except Exception as exc:  # malformed bodies of any kind are the client's problem
        raise UsageError(f"cannot read the form: {exc}") from None
    try:
        paths: list[Path] = []
        for key, item in form.multi_items():
            if isinstance(item, str):
                fields[key.lower()] = check_text(item, f"the {key[:MAX_NAME_CHARS]} field")
            elif isinstance(item, UploadFile):
                paths.append(await _save(item, max_bytes, directory, len(paths) + 1))
        return paths
    finally:
        await form.close()


async def _save(item: UploadFile, max_bytes: int, directory: Path, number: int) -> Path:
    name = safe_file_name(item.filename or "") or f"file-{number}.fits"
    if item.size is not None and item.size > max_bytes:
        raise PayloadTooLargeError(f"{name} is larger than the limit of {max_bytes} bytes per file: nothing stored")
    target = directory / name
    if target.exists():
        raise UsageError(f"two files are named {name}: submit them separately")
    with target.open("wb") as out:
        await anyio.to_thread.run_sync(shutil.copyfileobj, item.file, out, _COPY_CHUNK_BYTES)
    return target
