"""Log set-up and structured events: one line per event, as ``key=value`` text or as JSON.

An event is a log record with two extra attributes, ``event`` (its kind: ``access``, ``query``,
``cone``, ``job``) and ``fields`` (its values), emitted by ``log_event``. The formatters render
any record, event or not: operators choose the format with ``JMMCTAP_LOG_FORMAT`` and the level with
``JMMCTAP_LOG_LEVEL``; tests read ``record.fields`` (pytest's ``caplog``).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from jmmctap.settings import Settings

__all__ = ["JsonFormatter", "TextFormatter", "configure_logging", "event_fields", "log_event"]


def log_event(logger: logging.Logger, event: str, fields: Mapping[str, object], level: int = logging.INFO) -> None:
    """Emit one structured event; ``None`` values are left out of the line."""
    kept = {k: v for k, v in fields.items() if v is not None}
    if logger.isEnabledFor(level):
        logger.log(level, "%s %s", event, _pairs(kept), extra={"event": event, "fields": kept})


def event_fields(record: logging.LogRecord, event: str | None = None) -> dict[str, Any] | None:
    """The fields of an event record (of kind ``event`` when given); None for any other record."""
    kind = getattr(record, "event", None)
    fields = getattr(record, "fields", None)
    if not isinstance(kind, str) or not isinstance(fields, dict) or event not in (None, kind):
        return None
    return fields


def configure_logging(settings: Settings, stream: TextIO | None = None) -> None:
    """Send every log record (jmmctap's, uvicorn's, libraries') to ``stream`` in the configured format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())


class TextFormatter(logging.Formatter):
    """``2026-12-04T17:20:01.123Z INFO jmmctap.query query principal=anonymous rows=3 ...``."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname} {record.name} {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time``, ``level``, ``logger``, then ``event`` and its fields or ``message``."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, object] = {"time": _timestamp(record), "level": record.levelname, "logger": record.name}
        fields = event_fields(record)
        if fields is not None:
            document["event"] = vars(record)["event"]
            document.update({k: v for k, v in fields.items() if k not in document})
        else:
            document["message"] = record.getMessage()
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, default=str, ensure_ascii=False)


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _pairs(fields: Mapping[str, object]) -> str:
    """``key=value`` pairs; values with spaces, quotes or ``=`` are JSON-quoted so the line stays parseable."""
    return " ".join(f"{key}={_text(value)}" for key, value in fields.items())


def _text(value: object) -> str:
    text = value if isinstance(value, str) else (str(value).lower() if isinstance(value, bool) else str(value))
    if not text or any(c in text for c in ' "=\n\t'):
        return json.dumps(text, ensure_ascii=False)
    return text
