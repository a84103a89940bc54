"""The one exception hierarchy of jmmctap.

::

    JmmctapError                  base; carries the HTTP status and the DALI/UWS error type
    ├── ConfigError               bad configuration or environment (CLI: one line, exit 1)
    │   └── MissingDependencyError  a system package is missing; the message names it
    ├── UsageError (400)          the client's fault: bad parameter, bad ADQL, bad upload
    │   ├── AdqlError             ADQL that cannot be translated; has line/column
    │   ├── PayloadTooLargeError (413)  a request body over the limit (refused while it arrives)
    │   └── TooManyRequestsError (429)  this client already runs its share of queries; Retry-After
    ├── NotFoundError (404)       unknown job, table, result
    └── ServiceError (500)        our fault or the database's; details only in the log
        └── ServiceUnavailableError (503)  database down, restarting or saturated; Retry-After

Raise where the problem is known; render once (HTTP handlers, CLI ``main``).
"""

from __future__ import annotations

__all__ = [
    "AdqlError",
    "ConfigError",
    "JmmctapError",
    "MissingDependencyError",
    "NotFoundError",
    "PayloadTooLargeError",
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


class NotFoundError(JmmctapError):
    """The addressed resource does not exist (HTTP 404)."""

    http_status = 404


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


class TooManyRequestsError(UsageError):
    """This client already runs as many queries as one client may (HTTP 429 with ``Retry-After``)."""

    http_status = 429

    def __init__(self, message: str, retry_after_s: int = 5) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
