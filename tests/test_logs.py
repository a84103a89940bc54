"""Log lines: ``key=value`` text by default, one JSON object a line on request, at the configured level."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import replace

import pytest

from jmmctap.logs import configure_logging, log_event
from jmmctap.settings import Settings


@pytest.fixture
def root_logging() -> Iterator[None]:
    """Restore the root logger (pytest's own handlers) after a test that configures it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def _emit(settings: Settings) -> list[str]:
    out = io.StringIO()
    configure_logging(settings, out)
    logger = logging.getLogger("jmmctap.test")
    log_event(logger, "query", {"principal": "anonymous", "adql": "sha256:00ff", "rows": 3, "error": None,
                                "message": 'said "no" = refused'})
    logger.debug("a detail")
    logger.warning("plain %s", "message")
    return out.getvalue().splitlines()


@pytest.mark.usefixtures("root_logging")
def test_text_lines_are_key_value_pairs() -> None:
    event, plain = _emit(Settings())
    time, level, logger, kind, *pairs = event.split(" ", 4)
    assert time.endswith("Z") and (level, logger, kind) == ("INFO", "jmmctap.test", "query")
    assert pairs == ['principal=anonymous adql=sha256:00ff rows=3 message="said \\"no\\" = refused"']
    assert plain.endswith("WARNING jmmctap.test plain message")


@pytest.mark.usefixtures("root_logging")
def test_json_lines_are_one_object_each_with_the_event_fields() -> None:
    event, plain = (json.loads(line) for line in _emit(Settings(log_format="json")))
    assert {k: event[k] for k in ("level", "logger", "event", "principal", "rows", "message")} == {
        "level": "INFO", "logger": "jmmctap.test", "event": "query", "principal": "anonymous", "rows": 3,
        "message": 'said "no" = refused'}
    assert "error" not in event  # None values are left out
    assert plain["message"] == "plain message" and "event" not in plain


@pytest.mark.usefixtures("root_logging")
def test_the_level_setting_filters_lines() -> None:
    assert len(_emit(replace(Settings(), log_level="debug"))) == 3
    assert len(_emit(replace(Settings(), log_level="WARNING"))) == 1
