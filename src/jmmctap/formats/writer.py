"""The writer protocol of the result formats, the request facts written with the rows, and the shared batch loop.

Every format writes the same way: a header from the column metadata, one ``bytes`` chunk per group of
rows, then a footer that records how the stream ended (:class:`Ending`): complete, cut by MAXREC
(``OVERFLOW``, DALI 1.1 §4.4.1) or failed after the first byte (``ERROR``, DALI 1.1 §4.4.2).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from jmmctap import __version__
from jmmctap.errors import JmmctapError, ServiceError
from jmmctap.results import ResultColumn, ResultStream, Row

__all__ = ["CHUNK_ROWS", "Ending", "ResultInfo", "ServiceDescriptor", "Writer", "encode_stream"]

_log = logging.getLogger(__name__)

CHUNK_ROWS = 4096
"""Rows encoded together into one chunk (about 0.5–1 MiB for 20 columns): batches are merged or split to this size."""


@dataclass(frozen=True)
class ServiceDescriptor:
    """A service that takes a result column as input (DataLink 1.1 §4 service descriptor, ``adhoc:service``).

    VOTable writers describe it in a ``RESOURCE type="meta"`` when the result has a column named
    ``input_column``, whose values go in parameter ``input_param``; other formats cannot hold it.
    """

    standard_id: str
    access_url: str
    input_column: str
    input_param: str = "ID"
    description: str = ""


@dataclass(frozen=True)
class ResultInfo:
    """Facts about the request that writers record beside the rows (VOTable INFOs, JSON keys).

    ``query`` overrides ``ResultStream.query`` when given (e.g. the ADQL as the client sent it).
    """

    query: str | None = None
    request_time: datetime | None = None
    service_name: str = "jmmctap"
    service_version: str = __version__
    standard_id: str | None = "ivo://ivoa.net/std/TAP"
    extra: tuple[tuple[str, str], ...] = ()
    services: tuple[ServiceDescriptor, ...] = ()
    """Services fed by result columns (VOTable ``adhoc:service`` resources), e.g. DataLink on obs_publisher_did."""


@dataclass(frozen=True)
class Ending:
    """How a result stream ended: the trailing ``QUERY_STATUS`` (``OK`` writes nothing after the table)."""

    status: Literal["OK", "OVERFLOW", "ERROR"]
    message: str = ""


class Writer(Protocol):
    """A result format: bytes of one media type from a result stream.

    ``check`` looks at the column metadata only, so a request for a format that cannot hold one of
    the columns is refused (``UsageError``, HTTP 400) before a database connection is taken.
    """

    @property
    def media_type(self) -> str:
        """The Content-Type of the response."""
        ...

    def check(self, columns: Sequence[ResultColumn]) -> None:
        """Raise ``UsageError`` if a column cannot be written in this format."""
        ...

    def write(self, stream: ResultStream, info: ResultInfo) -> AsyncIterator[bytes]:
        """The document, chunk by chunk; raises ``UsageError`` at once if a column cannot be written."""
        ...


async def encode_stream(
    stream: ResultStream, encode: Callable[[Sequence[Row]], bytes]
) -> AsyncGenerator[bytes | Ending, None]:
    """Encode the rows of ``stream`` in chunks of ``CHUNK_ROWS`` rows (the last one shorter), then the :class:`Ending`.

    A ``JmmctapError`` raised by the stream (or an encoding failure, turned into ``ServiceError``) ends the
    rows with an ``ERROR`` ending after the rows already received are written. The stream's batch
    iterator is closed in every case, including when the consumer stops early (client disconnect).
    """
    batches = stream.batches()
    pending: list[Row] = []
    try:
        try:
            async for batch in batches:
                pending.extend(batch)
                if len(pending) >= CHUNK_ROWS:
                    full = len(pending) - len(pending) % CHUNK_ROWS
                    for start in range(0, full, CHUNK_ROWS):
                        yield _encode_checked(encode, pending[start : start + CHUNK_ROWS])
                    del pending[:full]
            if pending:
                yield _encode_checked(encode, pending)
        except JmmctapError as exc:
            if pending:
                with contextlib.suppress(JmmctapError):
                    yield _encode_checked(encode, pending)
            yield Ending("ERROR", exc.message)
            return
    finally:
        aclose = getattr(batches, "aclose", None)
        if aclose is not None:
            await aclose()
    yield Ending("OVERFLOW") if stream.overflowed else Ending("OK")


def _encode_checked(encode: Callable[[Sequence[Row]], bytes], rows: Sequence[Row]) -> bytes:
    try:
        return encode(rows)
    except (TypeError, ValueError, OverflowError, UnicodeError, IndexError) as exc:
        _log.exception("cannot encode a result batch")
        raise ServiceError(f"a value of the result cannot be written in the requested format: {exc}") from exc
