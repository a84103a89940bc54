"""One structured log line per query and per cone search, written when its result ends.

``QueryLog`` is created when a query is prepared; it counts the rows the writer takes (``watch``) and
the bytes it produces (``measure``), and logs once: at the end of the result (``ok``, or ``error`` when
the query failed midway), when the client went away or the job was stopped (``interrupted``), or when
the query failed before the first byte (``fail``). The ADQL text is logged as a digest (it may be long or
private); the full text stays in the result's INFO and the job's parameters.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence

from jmmctap.auth import Principal
from jmmctap.errors import JmmctapError
from jmmctap.logs import log_event
from jmmctap.results import ResultColumn, ResultStream, Row

__all__ = ["QueryLog", "adql_digest"]

log = logging.getLogger("jmmctap.query")

_DIGEST_HEX = 16
"""Hex digits of the SHA-256 kept in the log: enough to group identical queries."""


def adql_digest(text: str) -> str:
    """``sha256:`` and a prefix of the SHA-256 of the query text, to tell queries apart in the log."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:_DIGEST_HEX]


class QueryLog:
    """Measures one query from its start to the end of its result; logs it exactly once.

    Parameters
    ----------
    event
        ``query`` (TAP sync or async) or ``cone`` (Simple Cone Search).
    principal
        Who asked.
    adql
        The query text (logged as ``adql_digest``).
    context
        Other fields of the line (``kind``, ``job``, ``catalogue``, ``ra``...).
    """

    def __init__(self, event: str, principal: Principal, adql: str, **context: object) -> None:
        self._event, self._principal, self._adql, self._context = event, principal, adql, context
        self._started = time.monotonic()
        self._logged = False
        self.rows = 0
        """Rows handed to the writer so far."""
        self.bytes = 0
        """Bytes the writer produced so far."""
        self.error: JmmctapError | None = None
        """The error that ended the query, if any."""
        self.overflowed = False
        """Whether MAXREC cut rows (known once the rows are exhausted)."""

    def watch(self, stream: ResultStream) -> ResultStream:
        """``stream`` as the writer should see it: rows counted, an error raised midway kept."""
        return _CountedStream(stream, self)

    async def measure(self, chunks: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
        """The writer's bytes, counted; the line is logged when they end (or stop being read)."""
        outcome = "interrupted"  # unless the loop ends: closed early (client gone) or cancelled (job stopped)
        try:
            async for chunk in chunks:
                self.bytes += len(chunk)
                yield chunk
            outcome = "ok"
        finally:
            self.finish(outcome)

    def fail(self, exc: BaseException) -> None:
        """Log a query that failed before its first byte."""
        if isinstance(exc, JmmctapError):
            self.error = exc
            self.finish("error")
        else:
            self.finish("error" if isinstance(exc, Exception) else "interrupted")

    def finish(self, outcome: str) -> None:
        """Log the line (only the first call does); an error kept by ``watch`` makes the outcome ``error``."""
        if self._logged:
            return
        self._logged = True
        if self.error is not None:
            outcome = "error"
        log_event(log, self._event, {
            "principal": str(self._principal), **self._context, "adql": adql_digest(self._adql),
            "rows": self.rows, "bytes": self.bytes, "overflow": self.overflowed or None,
            "duration_ms": round((time.monotonic() - self._started) * 1000, 1), "outcome": outcome,
            "error": self.error.message.splitlines()[0] if self.error is not None else None,  # one line a query
        })


class _CountedStream:
    """A ``ResultStream`` that reports its rows and its midway error to a ``QueryLog``."""

    def __init__(self, stream: ResultStream, record: QueryLog) -> None:
        self._stream, self._record = stream, record

    @property
    def columns(self) -> Sequence[ResultColumn]:
        return self._stream.columns

    @property
    def overflowed(self) -> bool:
        return self._stream.overflowed

    @property
    def query(self) -> str:
        return self._stream.query

    @property
    def records(self) -> bool:
        return self._stream.records

    async def batches(self) -> AsyncIterator[Sequence[Row]]:
        try:
            async for batch in self._stream.batches():
                self._record.rows += len(batch)
                yield batch
        except JmmctapError as exc:
            self._record.error = exc
            raise
        self._record.overflowed = self._stream.overflowed
