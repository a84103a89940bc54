"""Settings: every one documented, read from JMMCTAP_* variables, bad values rejected clearly."""

from __future__ import annotations

from dataclasses import fields
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
