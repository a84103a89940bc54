"""Settings: every one documented, read from JMMCTAP_* variables, bad values rejected clearly."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jmmctap.errors import ConfigError
from jmmctap.settings import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.parametrize("name", [f.name for f in fields(Settings)])
def test_setting_is_documented(name: str) -> None:
    field = next(f for f in fields(Settings) if f.name == name)
    assert field.metadata.get("help")
    assert f"JMMCTAP_{name.upper()}" in README.read_text()


def test_settings_from_environment() -> None:
    s = Settings.from_env({"JMMCTAP_HOME": "/tmp/x", "JMMCTAP_PORT": "8765", "JMMCTAP_DSN": ""})
    assert (s.home, s.port, s.dsn, s.embedded) == (Path("/tmp/x"), 8765, None, True)


def test_explicit_overrides_win() -> None:
    assert Settings.from_env({"JMMCTAP_PORT": "1"}, port=2).port == 2


def test_bad_number_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="JMMCTAP_PORT"):
        Settings.from_env({"JMMCTAP_PORT": "eighty"})


@pytest.mark.parametrize(("variable", "value", "why"), [
    ("JMMCTAP_PORT", "-1", "at least 0"),
    ("JMMCTAP_PORT", "70000", "at most 65535"),
    ("JMMCTAP_POOL_SIZE", "0", "at least 1"),
    ("JMMCTAP_QUERY_TIMEOUT_S", "0", "positive"),
    ("JMMCTAP_QUERY_TIMEOUT_S", "nan", "positive"),
    ("JMMCTAP_MAXREC_DEFAULT", "-5", "at least 0"),
    ("JMMCTAP_MAXREC_DEFAULT", "30000000", "JMMCTAP_MAXREC_HARD"),
    ("JMMCTAP_ASYNC_WORKERS", "-1", "at least 0"),
    ("JMMCTAP_EXECUTION_DURATION_S", "0", "at least 1"),
    ("JMMCTAP_EXECUTION_DURATION_S", "7200", "JMMCTAP_EXECUTION_DURATION_HARD_S"),
    ("JMMCTAP_DESTRUCTION_PERIOD_HARD_S", "60", "JMMCTAP_DESTRUCTION_PERIOD_HARD_S"),
    ("JMMCTAP_UPLOAD_MAX_BYTES", "0", "at least 1"),
    ("JMMCTAP_UPLOAD_MAX_ROWS", "0", "at least 1"),
    ("JMMCTAP_GZIP_LEVEL", "-1", "at least 0"),
    ("JMMCTAP_GZIP_LEVEL", "10", "at most 9"),
    ("JMMCTAP_LOG_FORMAT", "xml", "text, json"),
    ("JMMCTAP_LOG_LEVEL", "LOUD", "DEBUG"),
    ("JMMCTAP_PUBLIC_URL", "tap.jmmc.fr", "http"),
    ("JMMCTAP_CATALOGS_PATH", "catalogs", "absolute URL path"),
    ("JMMCTAP_CATALOGS_PATH", "/catalogs/", "trailing slash"),
    ("JMMCTAP_CATALOGS_PATH", "/tap/catalogs", "/tap"),
    ("JMMCTAP_CLOCK", "next year", "ISO 8601"),
    ("JMMCTAP_CLOCK", "2031-01-01T00:00:00", "time zone"),
])
def test_a_bad_value_is_refused_naming_the_variable(variable: str, value: str, why: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({variable: value})
    message = raised.value.message
    assert variable in message and why in message  # a conflict names both variables


def test_log_settings_have_their_defaults_and_accept_any_case() -> None:
    assert (Settings().log_format, Settings().log_level) == ("text", "INFO")
    assert Settings.from_env({"JMMCTAP_LOG_FORMAT": "json", "JMMCTAP_LOG_LEVEL": "debug"}).log_level == "debug"


def test_the_embargo_clock_is_the_databases_unless_set() -> None:
    assert Settings().embargo_clock is None
    clock = Settings.from_env({"JMMCTAP_CLOCK": "2031-06-02T00:00:00Z"}).embargo_clock
    assert clock == datetime(2031, 6, 2, tzinfo=UTC)
