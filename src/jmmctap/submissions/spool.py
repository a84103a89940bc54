"""A request body spooled to a temporary file as it arrives, so that the loader reads a file and memory stays flat.

The body is the file itself (any content type: the loader recognises VOTable, FITS and gzip by their bytes)
or a ``multipart/form-data`` form with one file part and text fields. The size limit holds while the bytes
arrive: a ``Content-Length`` over it is refused before anything is read, a body that grows past it as soon
as it does (HTTP 413). The file is 0600 (``tempfile.mkstemp``) and removed when the block ends, whatever
happens.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import anyio
from starlette.datastructures import UploadFile
from starlette.requests import Request

from jmmctap.dali import FORM_OVERHEAD_BYTES, MAX_NAME_CHARS, check_text, limit_body
from jmmctap.errors import JmmctapError, PayloadTooLargeError, UsageError

__all__ = ["SpooledBody", "spool_body"]

_COPY_CHUNK_BYTES = 1 << 20
_MAX_FIELDS = 32


@dataclass(frozen=True)
class SpooledBody:
    """The posted file, on disk, and the request's text parameters (query string, then form fields)."""

    path: Path
    size_bytes: int
    fields: Mapping[str, str]
    """Parameter names lower-cased; a form field wins over the query string."""
    filename: str | None = None
    """The file part's name in a form (for messages), None for a plain body."""


@contextlib.asynccontextmanager
async def spool_body(request: Request, max_bytes: int, directory: Path | None = None) -> AsyncIterator[SpooledBody]:
    """Write the request's file to a temporary file in ``directory`` (default: the system's) while it arrives.

    Parameters
    ----------
    request
        A request whose body is the file, or a multipart form with exactly one file part.
    max_bytes
        Largest file accepted, in bytes as sent.
    directory
        Where the temporary file goes.

    Raises
    ------
    PayloadTooLargeError
        The body is (or announces to be) larger than ``max_bytes``.
    UsageError
        No file, several file parts, a malformed form or parameter.
    """
    fields = _query_fields(request)
    fd, name = tempfile.mkstemp(prefix="jmmctap-table-", dir=directory)
    path = Path(name)
    try:
        filename = None
        with os.fdopen(fd, "wb") as out:
            if request.headers.get("content-type", "").startswith("multipart/form-data"):
                filename = await _spool_form(request, out, max_bytes, fields)
            else:
                await _spool_raw(request, out, max_bytes)
            size = out.tell()
        if size == 0:
            raise UsageError("the request holds no table: send a VOTable or FITS file as the body")
        yield SpooledBody(path, size, fields, filename)
    finally:
        path.unlink(missing_ok=True)


def _query_fields(request: Request) -> dict[str, str]:
    fields: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        _add(fields, key, value)
    return fields


def _add(fields: dict[str, str], key: str, value: str) -> None:
    check_text(key, "a parameter name", MAX_NAME_CHARS)
    fields[key.lower()] = check_text(value, f"the {key[:MAX_NAME_CHARS]} parameter")


async def _spool_raw(request: Request, out: BinaryIO, max_bytes: int) -> None:
    declared = request.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLargeError(f"the table is larger than the limit of {max_bytes} bytes")
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > max_bytes:
            raise PayloadTooLargeError(f"the table is larger than the limit of {max_bytes} bytes")
        out.write(chunk)  # to the page cache: microseconds for a chunk of the ASGI server's size


async def _spool_form(request: Request, out: BinaryIO, max_bytes: int, fields: dict[str, str]) -> str | None:
    limit_body(request, max_bytes + FORM_OVERHEAD_BYTES)
    try:
        # Starlette spools each file part to a SpooledTemporaryFile (on disk past 1 MiB), never whole in memory
        form = await request.form(max_files=2, max_fields=_MAX_FIELDS)
    except JmmctapError:
        raise
    except Exception as exc:  # malformed bodies of any kind are the client's problem
        raise UsageError(f"cannot read the form: {exc}") from None
    try:
        files = [item for _, item in form.multi_items() if isinstance(item, UploadFile)]
        if len(files) != 1:
            raise UsageError(f"the form must hold one file part (the table), not {len(files)}")
        for key, item in form.multi_items():
            if isinstance(item, str):
                _add(fields, key, item)
        await anyio.to_thread.run_sync(shutil.copyfileobj, files[0].file, out, _COPY_CHUNK_BYTES)
        return files[0].filename
    finally:
        await form.close()
