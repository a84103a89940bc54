"""Client of the ESO archive for ``sync-eso``: changed rows of ``dbo.raw`` (TAP, keyset pages) and headers.

Every request is bounded: at most ``eso_sync_rate`` requests a second, a timeout per network step, and
retries with exponential backoff (1, 2, 4... s, or the server's ``Retry-After``) on timeouts, network
errors, HTTP 429 and 5xx. A request still failing after ``eso_sync_retries`` raises
``ServiceUnavailableError``: the sync stops where it is and the next run resumes there.
"""

from __future__ import annotations

import html
import io
import re
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from astropy.io import votable
from astropy.io.votable.exceptions import VOWarning

from jmmctap import __version__
from jmmctap.catalogues.eso_header import HeaderSource, parse_header_text
from jmmctap.catalogues.exposure import VLTI_INSTRUMENTS
from jmmctap.errors import NotFoundError, ServiceUnavailableError, UsageError
from jmmctap.settings import Settings

__all__ = ["INTERFEROMETRIC_INSTRUMENTS", "ArchiveRow", "Checkpoint", "EsoArchive", "changed_rows_query"]

INTERFEROMETRIC_INSTRUMENTS = tuple(sorted(VLTI_INSTRUMENTS))
"""The ``instrument`` values of ``dbo.raw`` that sync-eso harvests (the VLTI's interferometric instruments)."""

BACKOFF_FIRST_S = 1.0
"""Wait before the first retry of a failed request, in seconds; doubled at each further retry."""

BACKOFF_MAX_S = 60.0
"""Longest wait between two retries, in seconds (also caps a server's ``Retry-After``)."""

_PRE = re.compile(r"<pre[^>]*>(.*?)</pre>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class ArchiveRow:
    """One exposure of ``dbo.raw``: its DP.ID and when the archive last changed it."""

    dp_id: str
    last_mod_date: datetime
    instrument: str | None


@dataclass(frozen=True)
class Checkpoint:
    """The keyset position after the last exposure handled (None, None: from the beginning)."""

    last_mod_date: datetime | None = None
    dp_id: str | None = None


def changed_rows_query(after: Checkpoint, page_size: int, *, count: bool = False) -> str:
    """ADQL of the next page of interferometric exposures after ``after``, in (last_mod_date, dp_id) order.

    Literals are built from values the archive itself returned (a parsed timestamp, a DP.ID with any
    quote doubled, as ADQL escapes it), never from user input.
    """
    instruments = ", ".join(f"'{name}'" for name in INTERFEROMETRIC_INSTRUMENTS)
    where = f"instrument IN ({instruments})"
    if after.last_mod_date is not None:
        stamp = _adql_timestamp(after.last_mod_date)
        where += f" AND (last_mod_date > '{stamp}'"
        if after.dp_id is not None:
            where += f" OR (last_mod_date = '{stamp}' AND dp_id > '{_adql_text(after.dp_id)}')"
        where += ")"
    if count:
        return f"SELECT COUNT(*) AS n FROM dbo.raw WHERE {where}"
    return (f"SELECT TOP {int(page_size)} dp_id, last_mod_date, instrument FROM dbo.raw WHERE {where}"
            " ORDER BY last_mod_date, dp_id")


def _adql_timestamp(moment: datetime) -> str:
    # milliseconds, no zone: what SQL Server's datetime (ESO's dbo.raw) and PostgreSQL both read, in UTC
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds")


def _adql_text(value: str) -> str:
    return value.replace("'", "''")


class _RateLimit:
    """At most ``rate`` calls of ``wait`` return per second (thread-safe)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = 1.0 / rate
        self._clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            time.sleep(start - now)


class EsoArchive:
    """The ESO archive's TAP service and header service, as ``settings`` name them."""

    def __init__(self, settings: Settings, client: httpx.Client | None = None) -> None:
        self._tap_sync = settings.eso_tap_url.rstrip("/") + "/sync"
        self._header_url = settings.eso_header_url
        self._page_size = settings.eso_sync_page_size
        self._retries = settings.eso_sync_retries
        self._limit = _RateLimit(settings.eso_sync_rate)
        self._client = client or httpx.Client(
            timeout=settings.eso_sync_timeout_s, follow_redirects=True,
            headers={"User-Agent": f"jmmctap/{__version__} sync-eso"},
        )

    def close(self) -> None:
        self._client.close()

    def changed_rows(self, after: Checkpoint) -> list[ArchiveRow]:
        """The next page (at most ``eso_sync_page_size`` rows) of exposures changed after ``after``.

        Raises
        ------
        ServiceUnavailableError
            The TAP service did not answer, even after the retries.
        """
        table = self._query(changed_rows_query(after, self._page_size), self._page_size)
        rows = []
        for dp_id, stamp, instrument in zip(table["dp_id"], table["last_mod_date"], table["instrument"],
                                            strict=True):
            rows.append(ArchiveRow(_text(dp_id), _timestamp(stamp), _text(instrument) or None))
        return rows

    def count_changed(self, after: Checkpoint) -> int | None:
        """How many exposures changed after ``after`` (for a progress bar), None when the service cannot say."""
        try:
            table = self._query(changed_rows_query(after, self._page_size, count=True), 1)
            return int(table[table.colnames[0]][0])
        except (ServiceUnavailableError, IndexError, ValueError, TypeError):
            return None

    def header(self, dp_id: str) -> HeaderSource:
        """The primary header of one exposure, with its DP.ID (the archive's name for it, as astroquery adds).

        Raises
        ------
        NotFoundError
            The archive has no header for it (HTTP 404).
        UsageError
            The answer holds no readable header.
        ServiceUnavailableError
            The header service did not answer, even after the retries.
        """
        response = self._request("GET", self._header_url.replace("{dp_id}", dp_id))
        if response.status_code == httpx.codes.NOT_FOUND:
            raise NotFoundError(f"{dp_id}: the header service has no header (HTTP 404)")
        if response.status_code != httpx.codes.OK:
            raise UsageError(f"{dp_id}: the header service answered HTTP {response.status_code}")
        found = parse_header_text(dp_id, _header_text(response.text))
        return HeaderSource(f"eso:{dp_id}", {**found.keywords, "DP.ID": dp_id}, ("ESO archive header service",))

    def _query(self, adql: str, maxrec: int) -> Any:
        data = {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": adql, "MAXREC": str(maxrec)}
        response = self._request("POST", self._tap_sync, data=data)
        if response.status_code != httpx.codes.OK:
            raise ServiceUnavailableError(f"ESO TAP service: HTTP {response.status_code}: {response.text[:200]}")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", VOWarning)
                document = votable.parse(io.BytesIO(response.content))
        except Exception as exc:  # astropy raises many kinds on a document that is not a VOTable
            raise ServiceUnavailableError(f"ESO TAP service: not a VOTable: {exc}") from None
        status = _query_status(document)
        if status is not None and status[0] == "ERROR":
            raise ServiceUnavailableError(f"ESO TAP service: query failed: {status[1]}")
        return document.get_first_table().to_table()

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        attempt = 0
        while True:
            self._limit.wait()
            wait: float | None = None
            try:
                response = self._client.request(method, url, **kwargs)
            except httpx.TransportError as exc:  # timeouts, refused connections, broken transfers
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code != httpx.codes.TOO_MANY_REQUESTS and response.status_code < 500:
                    return response
                problem = f"HTTP {response.status_code}"
                wait = _retry_after(response)
            if attempt >= self._retries:
                raise ServiceUnavailableError(f"ESO archive: {url}: {problem} (after {attempt} retries)")
            time.sleep(min(wait if wait is not None else BACKOFF_FIRST_S * 2 ** attempt, BACKOFF_MAX_S))
            attempt += 1


def _query_status(document: Any) -> tuple[str, str] | None:
    for resource in document.resources:
        for info in resource.infos:
            if info.name == "QUERY_STATUS":
                return str(info.value), str(info.content or "")
    for info in document.infos:
        if info.name == "QUERY_STATUS":
            return str(info.value), str(info.content or "")
    return None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else None


def _header_text(body: str) -> str:
    """The header of a header-service page: inside its ``<pre>`` (ESO's HTML page), else the body itself."""
    match = _PRE.search(body)
    return html.unescape(_TAGS.sub("", match[1])) if match else body


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode().strip()
    return "" if value is None or _masked(value) else str(value).strip()


def _masked(value: object) -> bool:
    return type(value).__name__ == "MaskedConstant"


def _timestamp(value: object) -> datetime:
    text = _text(value)
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        raise ServiceUnavailableError(f"ESO TAP service: last_mod_date {text!r} is not a date") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
