"""``jmmctap grant | collection | delegation | datapi``: the spellings operators type, end to end."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import psycopg
from starlette.applications import Starlette

from jmmctap.settings import Settings
from tests.acl.conftest import BOB, COUNT, DAVE, PUBLIC_ROWS
from tests.conftest import clean_env
from tests.support.principals import query_as


def _jmmctap(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "jmmctap.cli", *args], capture_output=True, text=True,
                            env=clean_env(JMMCTAP_HOME=str(settings.home)), timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    return result


async def _seen(app: Starlette, who: Any) -> dict[str, int]:
    return {str(r["obs_collection"]): int(r["n"]) for r in await query_as(app, who, COUNT)}


async def test_collection_delegation_and_datapi_commands(acl_app: Starlette, acl_settings: Settings,
                                                         acl_conn: psycopg.Connection[Any]) -> None:
    listed = _jmmctap(acl_settings, "collection", "list").stdout
    assert "team_private: private, embargo 24 months, groups teamA" in listed
    done = _jmmctap(acl_settings, "collection", "set", "solo_private", "--public", "--embargo-months", "12")
    assert done.stdout.startswith("solo_private: public, embargo 12 months")
    assert (await _seen(acl_app, BOB)).get("solo_private") == 1
    _jmmctap(acl_settings, "collection", "set", "solo_private", "--private", "--embargo-months", "24")
    assert (await _seen(acl_app, BOB)).get("solo_private") is None

    assert _jmmctap(acl_settings, "delegation", "add", "carol", "dave", "--progid", "60.A-9257(E)").returncode == 0
    assert "carol -> dave: progid 60.A-9257(E)" in _jmmctap(acl_settings, "delegation", "list").stdout
    assert (await _seen(acl_app, DAVE)).get("team_private") == 1
    assert _jmmctap(acl_settings, "delegation", "remove", "carol", "dave", "--progid", "60.A-9257(E)").returncode == 0
    assert _jmmctap(acl_settings, "delegation", "remove", "carol", "dave").returncode == 1  # no such delegation
    assert (await _seen(acl_app, DAVE)).get("team_private") is None

    assert _jmmctap(acl_settings, "datapi", "add", "dave", "Erin Smith").returncode == 0
    assert "dave: Erin Smith" in _jmmctap(acl_settings, "datapi", "list").stdout
    assert (await _seen(acl_app, DAVE)).get("solo_private") == 1


async def test_grant_and_public_commands(acl_app: Starlette, acl_settings: Settings,
                                         acl_conn: psycopg.Connection[Any]) -> None:
    granted = _jmmctap(acl_settings, "grant", "TESTDATA.numbers", "--group", "teamA", "--group", "teamC")
    assert granted.stdout.strip() == "testdata.numbers: readable by group(s) teamA, teamC only"
    assert _jmmctap(acl_settings, "grant", "testdata.numbers").stdout.strip().endswith("teamA, teamC only")
    assert _jmmctap(acl_settings, "grant", "testdata.numbers", "--public").stdout.strip() == "testdata.numbers: public"
    assert int((await query_as(acl_app, BOB, "SELECT COUNT(*) AS n FROM testdata.numbers"))["n"][0]) > 0
    later = _jmmctap(acl_settings, "grant", "team.later", "--group", "teamA").stdout
    assert "not published yet" in later
    assert int((await query_as(acl_app, BOB, "SELECT COUNT(*) AS n FROM ivoa.obscore"))["n"][0]) == PUBLIC_ROWS
