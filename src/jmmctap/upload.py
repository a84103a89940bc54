"""TAP UPLOAD (TAP 1.1 §2.7.6, §3.5; DALI 1.1 §3.4.5): tables posted with a query become ``TAP_UPLOAD.<name>``.

``UPLOAD=name,param:x`` names the multipart part ``x``; ``UPLOAD=name,http(s)://…`` is fetched, but only from
public addresses: every address the host resolves to must be globally routable, and the connection goes to
the address that was checked (no DNS rebinding), also after redirects; no proxy is used. The table is read
with the votable2tap reader and column mapping (``jmmctap.ingest``), loaded into a temporary table on the
query connection (``query.start``'s ``setup`` step: visible to that query only, dropped on release),
ANALYZEd, and — above ``INDEX_MIN_ROWS`` rows — indexed on its positions with the expression the ADQL
engine emits. A smaller upload gets no index on purpose: pgsphere's cost estimate of a probe into a large
catalogue's index is about 4,000 times too high, so with an index on both sides PostgreSQL scans the whole
catalogue and probes the upload for each of its rows (1,000 positions × the JSDC: 5.2 s instead of 44 ms).

Limits hold while the bytes stream, never after the fact: ``upload_max_bytes`` counts the bytes received
and, for a gzipped table, the decompressed bytes too (a 0.5 MB ``.vot.gz`` can hold a 512 MB cell);
``UPLOAD_LIMITS`` bounds one cell and one row; ``upload_max_rows`` the rows. Memory stays a few MB per
upload whatever the file.

::

    async with open_uploads(request.uploads, files, settings, principal=principal) as uploads:
        translation = translate(request.query, tap_schema, extra_tables=uploads.tables)
        stream = await start(..., setup=uploads.setup)        # as tapquery.open_query does
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import http.client
import ipaddress
import itertools
import logging
import shutil
import socket
import ssl
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import anyio
import psycopg
from psycopg import AsyncConnection, sql
from starlette.datastructures import UploadFile

from jmmctap.auth import Principal
from jmmctap.errors import UsageError
from jmmctap.ingest import IngestError, ReadLimits, TableSource, map_fields, open_source
from jmmctap.ingest.model import Row
from jmmctap.ingest.names import is_regular_identifier
from jmmctap.ingest.positions import Positions, find_positions, index_statement
from jmmctap.ingest.tabledata_fast import CopyText
from jmmctap.ingest.values import CellError
from jmmctap.ingest.votable import VOTableSource
from jmmctap.query import Setup
from jmmctap.settings import Settings
from jmmctap.tapschema import Column, Table
from jmmctap.uws.files import open_private

__all__ = [
    "INDEX_MIN_ROWS",
    "MAX_TABLE_NAME_CHARS",
    "MAX_UPLOADS",
    "UPLOAD_LIMITS",
    "UPLOAD_METHODS",
    "UPLOAD_SCHEMA",
    "UploadRef",
    "UploadSource",
    "Uploads",
    "open_uploads",
    "parse_upload_refs",
]

log = logging.getLogger(__name__)

UPLOAD_SCHEMA = "TAP_UPLOAD"
"""ADQL schema of uploaded tables (TAP 1.1 §2.7.6)."""

UPLOAD_METHODS = (
    "ivo://ivoa.net/std/TAPRegExt#upload-inline",
    "ivo://ivoa.net/std/TAPRegExt#upload-http",
    "ivo://ivoa.net/std/TAPRegExt#upload-https",
)
"""TAPRegExt upload methods implemented here (for the capabilities)."""

MAX_UPLOADS = 16
"""Most tables one query may upload."""

MAX_TABLE_NAME_CHARS = 63
"""Longest upload table name: PostgreSQL cuts identifiers at 63 bytes, so two longer names could collide."""

UPLOAD_LIMITS = ReadLimits(max_cell_bytes=1 << 20, max_row_bytes=4 << 20)
"""Largest cell (1 MiB) and row (4 MiB) of an uploaded table, decompressed."""

INDEX_MIN_ROWS = 100_000
"""Uploads with more rows get a positional index (see the module docstring): only then can probing the
upload for each row of a catalogue (≈ 10 µs each) compete with probing the catalogue for each upload row
(≈ 40 µs each)."""

FETCH_TIMEOUT_S = 30.0
"""Longest time spent fetching one http(s) upload (connection and transfer)."""

UploadSource = Path | BinaryIO | UploadFile
"""An inline upload: a file already on disk (async jobs) or a posted multipart part (sync)."""

_COPY_BATCH_ROWS = 2000
_CHUNK_BYTES = 1 << 20
_MAX_REDIRECTS = 5


@dataclass(frozen=True)
class UploadRef:
    """One ``UPLOAD`` value: the table name and where its content is."""

    name: str
    uri: str


@dataclass(frozen=True)
class _Loaded:
    ref: UploadRef
    source: TableSource
    positions: Positions
    table: Table


@dataclass(frozen=True)
class Uploads:
    """The uploaded tables of one query: to pass to ``query.start`` (``setup`` is None without uploads)."""

    tables: tuple[Table, ...]
    setup: Setup | None


def parse_upload_refs(values: Sequence[str]) -> list[UploadRef]:
    """Parse ``UPLOAD`` values (``name,uri``; several values or ``;``-separated pairs).

    Raises
    ------
    UsageError
        A malformed value, an invalid or repeated table name, an unsupported URI scheme.
    """
    refs: list[UploadRef] = []
    for value in values:
        for pair in (p for p in value.split(";") if p.strip()):
            name, comma, uri = pair.partition(",")
            name, uri = name.strip(), uri.strip()
            if not comma or not uri:
                raise UsageError(f"UPLOAD={pair!r} must be 'name,URI' (e.g. UPLOAD=t,param:t)")
            if not is_regular_identifier(name):
                raise UsageError(f"UPLOAD table name {name[:80]!r} must be a regular ADQL identifier"
                                 " (letters, digits, _)")
            if len(name) > MAX_TABLE_NAME_CHARS:
                raise UsageError(f"UPLOAD table name {name[:80]!r} is longer than {MAX_TABLE_NAME_CHARS} characters")
            if any(r.name.lower() == name.lower() for r in refs):
                raise UsageError(f"UPLOAD table name {name!r} is given twice")
            scheme = uri.partition(":")[0].lower()
            if scheme not in ("param", "http", "https"):
                raise UsageError(f"UPLOAD {name}: only param:, http: and https: URIs are supported, not {uri!r}")
            refs.append(UploadRef(name, uri))
    if len(refs) > MAX_UPLOADS:
        raise UsageError(f"at most {MAX_UPLOADS} tables can be uploaded with one query")
    return refs


@contextlib.asynccontextmanager
async def open_uploads(
    values: Sequence[str], files: Mapping[str, UploadSource], settings: Settings, *, principal: Principal
) -> AsyncIterator[Uploads]:
    """Read the uploaded tables' metadata (fetching http(s) ones); their rows load in ``setup``.

    Parameters
    ----------
    values
        The ``UPLOAD`` parameter values.
    files
        Inline files by part name (``param:x`` → ``files["x"]``).
    settings
        ``upload_max_bytes`` and ``upload_max_rows`` limits.
    principal
        Who uploads (logged with each table).

    Raises
    ------
    UsageError
        A bad reference, a refused or failing URL, a file that is not a readable table, a limit exceeded.
    """
    refs = parse_upload_refs(values)
    if not refs:
        yield Uploads((), None)
        return
    workdir = Path(await anyio.to_thread.run_sync(lambda: tempfile.mkdtemp(prefix="jmmctap-upload-")))
    try:
        loaded = [await anyio.to_thread.run_sync(_load, ref, files, settings, workdir) for ref in refs]
        for item in loaded:
            log.info("upload %s from %s for %s", item.table.name, item.ref.uri, principal)
        yield Uploads(tuple(item.table for item in loaded), _setup_for(loaded, settings.upload_max_rows))
    finally:
        await anyio.to_thread.run_sync(lambda: shutil.rmtree(workdir, ignore_errors=True))


def _load(ref: UploadRef, files: Mapping[str, UploadSource], settings: Settings, workdir: Path) -> _Loaded:
    received = _materialise(ref, files, settings.upload_max_bytes, workdir)
    path = _decompressed(ref, received, settings.upload_max_bytes, workdir)
    table_name = f"{UPLOAD_SCHEMA}.{ref.name}"
    try:
        source = open_source(path, limits=UPLOAD_LIMITS)
        positions = find_positions(table_name, map_fields(table_name, source.spec.fields))
    except (IngestError, CellError) as exc:
        raise _upload_error(ref, exc, path) from None
    if not positions.columns:
        raise UsageError(f"UPLOAD {ref.name}: the table has no columns")
    table = Table(
        schema_name=UPLOAD_SCHEMA, name=table_name, description=source.spec.description,
        columns=tuple(_scalar_arraysize(c.column) for c in positions.columns), pg_schema="pg_temp",
        pg_table=ref.name,
    )
    return _Loaded(ref, source, positions, table)


def _scalar_arraysize(column: Column) -> Column:
    """``arraysize="1"`` is a scalar (VOTable 1.3 Erratum 3): written without it in results (taplint W-UPL-YAR1)."""
    return replace(column, arraysize=None) if column.arraysize == "1" else column


def _materialise(ref: UploadRef, files: Mapping[str, UploadSource], max_bytes: int, workdir: Path) -> Path:
    """A local file with the upload's content, within the byte limit."""
    scheme, _, rest = ref.uri.partition(":")
    if scheme.lower() != "param":
        target = workdir / f"{ref.name}.url"
        _fetch(ref, target, max_bytes)
        return target
    source = files.get(rest)
    if source is None:
        raise UsageError(f"UPLOAD {ref.name}: no file part named {rest!r} was sent (multipart/form-data)")
    if isinstance(source, Path):
        if source.stat().st_size > max_bytes:
            raise UsageError(f"UPLOAD {ref.name}: larger than the limit of {max_bytes} bytes")
        return source
    stream = source.file if isinstance(source, UploadFile) else source
    stream.seek(0)
    target = workdir / f"{ref.name}.part"
    _copy_limited(ref, stream, target, max_bytes, deadline=None)
    return target


def _decompressed(ref: UploadRef, path: Path, max_bytes: int, workdir: Path) -> Path:
    """``path`` itself, or for gzip content its decompressed copy, stopped as soon as it passes ``max_bytes``."""
    with path.open("rb") as raw:
        if raw.read(2) != b"\x1f\x8b":
            return path
    target = workdir / f"{ref.name}.plain"
    try:
        with gzip.open(path, "rb") as stream:
            _copy_limited(ref, stream, target, max_bytes, deadline=None, what=" once decompressed")
    except (OSError, EOFError, zlib.error) as exc:
        raise UsageError(f"UPLOAD {ref.name}: the gzip content cannot be decompressed ({exc})") from None
    return target


def _copy_limited(
    ref: UploadRef, stream: Any, target: Path, max_bytes: int, deadline: float | None, what: str = ""
) -> None:
    size = 0
    with open_private(target) as out:  # in a 0700 mkdtemp directory
        while chunk := stream.read(_CHUNK_BYTES):
            size += len(chunk)
            if size > max_bytes:
                raise UsageError(f"UPLOAD {ref.name}: larger than the limit of {max_bytes} bytes{what}")
            if deadline is not None and time.monotonic() > deadline:
                raise UsageError(f"UPLOAD {ref.name}: fetching took longer than {FETCH_TIMEOUT_S:.0f} s")
            out.write(chunk)


def _upload_error(ref: UploadRef, exc: Exception, path: Path) -> UsageError:
    message = exc.message if isinstance(exc, IngestError) else str(exc)
    return UsageError(f"UPLOAD {ref.name}: " + message.replace(f"{path}: ", "").replace(str(path), "the file"))


# -- loading into PostgreSQL (on the query connection) ----------------------------------------------


def _setup_for(loaded: Sequence[_Loaded], max_rows: int) -> Setup:
    async def setup(conn: AsyncConnection[Any]) -> None:
        for item in loaded:
            await _create_and_fill(conn, item, max_rows)
    return setup


async def _create_and_fill(conn: AsyncConnection[Any], item: _Loaded, max_rows: int) -> None:
    name, columns = item.ref.name, item.positions.columns
    target = sql.Identifier("pg_temp", name)
    try:
        await conn.execute(sql.SQL("CREATE TEMPORARY TABLE {} ({})").format(
            sql.Identifier(name), sql.SQL(", ").join(c.ddl for c in columns)))
        copy_statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            target, sql.SQL(", ").join(sql.Identifier(c.name.db) for c in columns))
        rows = _rows(item)
        count = 0
        async with conn.cursor() as cursor, cursor.copy(copy_statement) as copy:
            while batch := await anyio.to_thread.run_sync(_next_batch, rows):
                count += sum(item.rows if isinstance(item, CopyText) else 1 for item in batch)
                if count > max_rows:
                    raise UsageError(f"UPLOAD {name}: more than the limit of {max_rows} rows")
                for row in batch:
                    if isinstance(row, CopyText):
                        utf8 = conn.info.encoding == "utf-8"
                        await copy.write(row.data if utf8 else row.data.decode().encode(conn.info.encoding))
                    else:
                        await copy.write_row(row)
        statement = index_statement("pg_temp", name, item.positions)
        if statement is not None and count > INDEX_MIN_ROWS:
            await conn.execute(statement)
        await conn.execute(sql.SQL("ANALYZE {}").format(target))
    except (IngestError, CellError) as exc:
        raise _upload_error(item.ref, exc, item.source.spec.file) from None
    except psycopg.Error as exc:
        raise UsageError(f"UPLOAD {name}: a value cannot be loaded: {exc.diag.message_primary or exc}") from None


def _rows(item: _Loaded) -> Iterator[Row | CopyText]:
    """The rows to COPY; a small TABLEDATA file (what pyvo and astropy send) as ready COPY text blocks.

    The ingest's TABLEDATA fast path does not check ``UPLOAD_LIMITS`` cell by cell, so it is used only
    for files no larger than one cell may be: no cell or row of such a file can exceed the limits.
    """
    transform = item.positions.row_transform
    source = item.source
    if (transform is None and isinstance(source, VOTableSource)
            and source.spec.file.stat().st_size <= UPLOAD_LIMITS.max_cell_bytes):
        return source.copy_items()
    rows = source.rows()
    return rows if transform is None else (transform(r) for r in rows)


def _next_batch(rows: Iterator[Row | CopyText]) -> list[Row | CopyText]:
    return list(itertools.islice(rows, _COPY_BATCH_ROWS))


# -- fetching http(s) uploads from public addresses only ----------------------------------------------


def _fetch(ref: UploadRef, target: Path, max_bytes: int) -> None:
    parts = urlsplit(ref.uri)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise UsageError(f"UPLOAD {ref.name}: {ref.uri!r} is not an http(s) URL with a host")
    deadline = time.monotonic() + FETCH_TIMEOUT_S
    try:
        with _opener().open(ref.uri, timeout=FETCH_TIMEOUT_S) as response:
            _copy_limited(ref, response, target, max_bytes, deadline)
    except _RefusedAddress as exc:
        raise UsageError(f"UPLOAD {ref.name}: {exc} (only public addresses can be fetched)") from None
    except urllib.error.HTTPError as exc:
        raise UsageError(f"UPLOAD {ref.name}: {ref.uri} answered HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, _RefusedAddress):
            raise UsageError(f"UPLOAD {ref.name}: {reason} (only public addresses can be fetched)") from None
        raise UsageError(f"UPLOAD {ref.name}: cannot fetch {ref.uri}: {reason}") from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise UsageError(f"UPLOAD {ref.name}: cannot fetch {ref.uri}: {exc}") from None


class _RefusedAddress(OSError):
    """The host resolves to a local, private or otherwise non-public address."""


def _public_address(host: str, port: int) -> list[tuple[Any, ...]]:
    """``getaddrinfo`` results for ``host``, all checked to be globally routable; else ``_RefusedAddress``."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve {host}: {exc.strerror}") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            raise _RefusedAddress(f"{host} resolves to the non-public address {address}")
    return infos


def _checked_connection(
    address: tuple[str, int], timeout: float | None = None, source_address: Any = None, *args: Any
) -> socket.socket:
    """``socket.create_connection`` that connects only to the checked addresses of the host."""
    host, port = address
    error: OSError | None = None
    for family, kind, proto, _, sockaddr in _public_address(host, port):
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error or OSError(f"cannot connect to {host}")


class _CheckedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _checked_connection


class _CheckedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _checked_connection


class _CheckedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_CheckedHTTPConnection, req)


class _CheckedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self) -> None:
        super().__init__(context=ssl.create_default_context())
        self._checked_context = ssl.create_default_context()

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_CheckedHTTPSConnection, req, context=self._checked_context)


class _LimitedRedirects(urllib.request.HTTPRedirectHandler):
    max_redirections = _MAX_REDIRECTS


@functools.cache
def _opener() -> urllib.request.OpenerDirector:
    """http and https only (a redirect elsewhere fails), checked addresses, no proxy from the environment."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        _CheckedHTTPHandler(), _CheckedHTTPSHandler(), _LimitedRedirects(), urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(), urllib.request.UnknownHandler(),
    ):
        opener.add_handler(handler)
    return opener

