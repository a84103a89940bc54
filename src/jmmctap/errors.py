"""The one exception hierarchy of jmmctap.

::

    JmmctapError (500)                base; carries the HTTP status and the DALI/UWS error type
    ├── ConfigError (500)             bad configuration or environment (CLI: one line, exit 1)
    │   └── MissingDependencyError    a system package is missing; the message names it
    ├── UsageError (400)              the client's fault: bad parameter, bad ADQL, bad upload
    │   ├── AdqlError                 ADQL that cannot be translated; has line/column
    │   ├── QueryError                PostgreSQL rejected or aborted the query (safe message)
    │   ├── IngestError               a file that cannot be ingested; has file/row/column
    │   ├── OifitsError               an OIFITS file that cannot become ObsCore granules
    │   ├── PayloadTooLargeError (413)  a request body over the limit (refused while it arrives)
    │   └── TooManyRequestsError (429)  this client already runs its share of queries; ``Retry-After``
    ├── AuthenticationError (401)     credentials missing or wrong; sends ``WWW-Authenticate``
    ├── ForbiddenError (403)          the caller may not do this
    ├── JobStateError (403)           not allowed in the job's current phase (UWS 1.1 §2.2)
    ├── NotFoundError (404)           unknown job, table, result
    ├── ConflictError (409)           the resource's state forbids it (a table to create exists already)
    └── ServiceError (500)            our fault or the database's; details only in the log
        └── ServiceUnavailableError (503)  database down, restarting or saturated; ``Retry-After``
            └── MetadataChangedError (503)  TAP_SCHEMA kept changing while a query started; try again

Raise where the problem is known; render once (``app.py``'s HTTP handlers, the CLI's ``main``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "AdqlError",
    "AuthenticationError",
    "ConfigError",
    "ConflictError",
    "ForbiddenError",
    "IngestError",
    "JmmctapError",
    "JobStateError",
    "MetadataChangedError",
    "MissingDependencyError",
    "NotFoundError",
    "OifitsError",
    "PayloadTooLargeError",
    "QueryError",
    "ServiceError",
    "ServiceUnavailableError",
    "TooManyRequestsError",
    "UsageError",
]


class JmmctapError(Exception):
    """Base of every error jmmctap raises on purpose."""

    http_status: int = 500
    error_type: str = "fatal"  # UWS errorSummary/@type: "fatal" or "transient"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def http_headers(self) -> Mapping[str, str]:
        """Headers the HTTP response must carry besides the error document (none by default)."""
        return {}


class ConfigError(JmmctapError):
    """The configuration or the machine cannot support the requested action."""


class MissingDependencyError(ConfigError):
    """A system package is missing; the message names the package to install."""


class UsageError(JmmctapError):
    """The client sent something invalid (DALI: HTTP 400)."""

    http_status = 400


class AdqlError(UsageError):
    """An ADQL query that cannot be parsed, resolved or translated.

    ``line`` and ``column`` are 1-based positions in the query text, when known.
    """

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


class PayloadTooLargeError(UsageError):
    """The request body is larger than the service accepts (HTTP 413); reading stopped at the limit."""

    http_status = 413


class QueryError(UsageError):
    """The database rejected or aborted the user's query; the message is safe to show."""


class IngestError(UsageError):
    """A file that cannot be ingested; the message names the file, and the row/column when known."""

    def __init__(self, message: str, *, file: Path | str | None = None, row: int | None = None,
                 column: str | None = None) -> None:
        where = [str(file)] if file is not None else []
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.file = str(file) if file is not None else None
        self.row = row
        self.column = column


class OifitsError(UsageError):
    """An OIFITS file that cannot be turned into granules; the message says why."""


class AuthenticationError(JmmctapError):
    """The request needs credentials it lacks or has wrong ones (HTTP 401, RFC 9110 §15.5.2).

    ``challenge`` is the ``WWW-Authenticate`` value that tells the client how to authenticate.
    """

    http_status = 401

    def __init__(self, message: str, challenge: str = 'Bearer realm="jmmctap"') -> None:
        super().__init__(message)
        self.challenge = challenge

    @property
    def http_headers(self) -> Mapping[str, str]:
        """RFC 9110 §11.6.1: a 401 response MUST carry a ``WWW-Authenticate`` challenge."""
        return {"WWW-Authenticate": self.challenge}


class ForbiddenError(JmmctapError):
    """The caller is known but may not do this (HTTP 403)."""

    http_status = 403


class JobStateError(JmmctapError):
    """The request is not allowed in the job's current phase (UWS §2.2: HTTP 403)."""

    http_status = 403


class NotFoundError(JmmctapError):
    """The addressed resource does not exist (HTTP 404)."""

    http_status = 404


class ConflictError(JmmctapError):
    """The request conflicts with the resource's current state (HTTP 409, RFC 9110 §15.5.10)."""

    http_status = 409


class ServiceError(JmmctapError):
    """The service failed; the client gets a generic message, the log the details."""

    http_status = 500
    error_type = "transient"


class ServiceUnavailableError(ServiceError):
    """The database is down, restarting or saturated: a passing condition (HTTP 503 with ``Retry-After``).

    Clients (pyvo, TOPCAT, HTTP libraries) retry on 503 and honour ``Retry-After``; on a 500 they give up.
    """

    http_status = 503

    def __init__(self, message: str, retry_after_s: int = 10) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    @property
    def http_headers(self) -> Mapping[str, str]:
        """RFC 9110 §10.2.3: when to try again."""
        return {"Retry-After": str(self.retry_after_s)}


class TooManyRequestsError(UsageError):
    """This client already runs as many queries as one client may (HTTP 429 with ``Retry-After``)."""

    http_status = 429

    def __init__(self, message: str, retry_after_s: int = 5) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    @property
    def http_headers(self) -> Mapping[str, str]:
        """RFC 6585 §4: when this client may try again."""
        return {"Retry-After": str(self.retry_after_s)}


class MetadataChangedError(ServiceUnavailableError):
    """A table's TAP_SCHEMA metadata changed between translation and execution (a replace committed).

    Raised before anything is sent and retried with the new metadata (``tapschema/live.py``); a
    client sees it only when the table changed again at every retry, and may try again at once.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, retry_after_s=1)
