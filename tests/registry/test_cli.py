"""``jmmctap registry show [IDENTIFIER]`` and ``registry list``, run as an operator would."""

from __future__ import annotations

import subprocess
import sys

from jmmctap.settings import Settings
from tests.conftest import server_env
from tests.registry.support import PUBLIC, XSI_TYPE, assert_valid_record


def _run(registry_settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = server_env(registry_settings)
    env.update(JMMCTAP_PUBLIC_URL=PUBLIC, JMMCTAP_OAI_PAGE_SIZE=str(registry_settings.oai_page_size),
               JMMCTAP_REGISTRY_FILE=str(registry_settings.registry_file))
    return subprocess.run([sys.executable, "-m", "jmmctap.cli", "registry", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_show_without_identifier_prints_the_registry_record_to_register(registry_settings: Settings) -> None:
    done = _run(registry_settings, "show")
    assert done.returncode == 0, done.stderr
    root = assert_valid_record(done.stdout.encode())
    assert (root.get(XSI_TYPE), root.findtext("identifier")) == ("vg:Registry", "ivo://jmmc.fr/registry")


def test_show_prints_the_record_of_an_identifier(registry_settings: Settings) -> None:
    done = _run(registry_settings, "show", "ivo://jmmc.fr/tap")
    assert done.returncode == 0, done.stderr
    assert assert_valid_record(done.stdout.encode()).get(XSI_TYPE) == "vs:CatalogService"


def test_show_of_an_unknown_identifier_fails_in_one_line(registry_settings: Settings) -> None:
    done = _run(registry_settings, "show", "ivo://jmmc.fr/nothing")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "jmmctap: error: no record has the identifier 'ivo://jmmc.fr/nothing'; 'jmmctap registry list' shows them"]


def test_list_gives_every_identifier_with_its_type(registry_settings: Settings) -> None:
    done = _run(registry_settings, "list")
    assert done.returncode == 0, done.stderr
    lines = {line.split()[-1]: line.split()[1] for line in done.stdout.splitlines()}
    assert lines["ivo://jmmc.fr"] == "vg:Authority" and lines["ivo://jmmc.fr/tap"] == "vs:CatalogService"
