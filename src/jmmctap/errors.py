"""The one exception hierarchy of jmmctap.

::

    JmmctapError                  base; carries the HTTP status and the DALI/UWS error type
    ├── ConfigError               bad configuration or environment (CLI: one line, exit 1)
    │   └── MissingDependencyError  a system package is missing; the message names it
    ├── UsageError (400)          the client's fault: bad parameter, bad ADQL, bad upload
    │   └── AdqlError             ADQL that cannot be translated; has line/column
    ├── NotFoundError (404)       unknown job, table, result
    ├── MetadataChangedError (503)  TAP_SCHEMA kept changing while a query started; try again
    └── ServiceError (500)        our fault or the database's; details only in the log

Raise where the problem is known; render once (HTTP handlers, CLI ``main``).
"""

from __future__ import annotations

__all__ = [
    "AdqlError",
    "ConfigError",
    "JmmctapError",
    "MetadataChangedError",
    "MissingDependencyError",
    "NotFoundError",
    "ServiceError",
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


class NotFoundError(JmmctapError):
    """The addressed resource does not exist (HTTP 404)."""

    http_status = 404


class MetadataChangedError(JmmctapError):
    """A table's TAP_SCHEMA metadata changed between translation and execution (a replace committed).

    Raised before anything is sent and retried with the new metadata (``tapschema/live.py``); a
    client sees it only when the table changed again at every retry.
    """

    http_status = 503
    error_type = "transient"


class ServiceError(JmmctapError):
    """The service failed; the client gets a generic message, the log the details."""

    http_status = 500
    error_type = "transient"
