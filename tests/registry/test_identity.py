"""The registry identity file: the shipped one loads; every mistake is a ConfigError naming its entry."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from asgi_lifespan import LifespanManager

from jmmctap.app import create_app
from jmmctap.errors import ConfigError
from jmmctap.registry import load_identity
from jmmctap.registry.identity import DEFAULT_REGISTRY_FILE
from jmmctap.settings import Settings


def _shipped() -> dict[str, Any]:
    loaded = yaml.safe_load(DEFAULT_REGISTRY_FILE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def _write(tmp_path: Path, content: dict[str, Any]) -> Path:
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump(content))
    return path


def test_shipped_identity_describes_every_jmmc_catalogue_and_cone_search() -> None:
    identity = load_identity()
    assert identity.authority == "ivo://jmmc.fr"
    assert set(identity.catalogues) == {"obscore", "obsportal", "jsdc", "jmdc", "badcal", "spica"}
    assert set(identity.cone_searches) == {"obsportal", "jsdc"}
    assert identity.catalogues["jmdc"].text.source == ("bibcode", "2016yCat.2345....0D")


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.pop("publisher"), "publisher: is required"),
    (lambda d: d.update(authority="jmmc.fr"), "authority: 'jmmc.fr' is not an IVOA authority"),
    (lambda d: d["contact"].update(email="nobody"), "contact.email: 'nobody' is not an e-mail address"),
    (lambda d: d["tap"].update(colour="blue"), "tap: unknown entry colour"),
    (lambda d: d["tap"].update(subjects=[]), "tap.subjects: must be a list of texts (at least one)"),
    (lambda d: d["tap"].update(short_name="A much too long short name"), "tap.short_name"),
    (lambda d: d["tap"].update(key="bad key"), "tap.key: 'bad key' is not a resource key"),
    (lambda d: d["registry"].update(key="tap"), "tap used by several resources"),
    (lambda d: d["cone_searches"]["jsdc"].update(catalogue="gaia"), "cone_searches.jsdc.catalogue: 'gaia'"),
    (lambda d: d["cone_searches"]["jsdc"]["test_query"].update(dec=95), "cone_searches.jsdc.test_query.dec"),
    (lambda d: d["catalogues"]["jmdc"].pop("schemas"), "catalogues.jmdc: needs tables or schemas"),
    (lambda d: d.update(dates={"Created": "yesterday"}), "dates.Created: 'yesterday' is not an ISO date"),
    (lambda d: d.update(reference_url="www.jmmc.fr"), "reference_url: 'www.jmmc.fr' is not an http(s) URL"),
])
def test_a_mistake_is_a_config_error_naming_the_entry(tmp_path: Path, change: Any, message: str) -> None:
    content = _shipped()
    change(content)
    with pytest.raises(ConfigError, match="registry identity file") as raised:
        load_identity(_write(tmp_path, content))
    assert message in raised.value.message


def test_missing_or_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.yaml"):
        load_identity(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("authority: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_identity(tmp_path / "bad.yaml")


async def test_server_refuses_to_start_with_a_broken_identity_file(tmp_path: Path, settings: Settings) -> None:
    content = _shipped()
    content["contact"].pop("email")
    app = create_app(replace(settings, registry_file=_write(tmp_path, content)))
    with pytest.raises(ConfigError, match=r"contact\.email: is required"):
        async with LifespanManager(app):
            pass
