"""``jmmctap user|group|token``: the commands an operator runs, as a subprocess on the test database."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import psycopg
import pytest

from jmmctap.settings import Settings
from tests.conftest import server_env

NAME = "cli-user@test.jmmc.fr"


def _run(settings: Settings, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jmmctap.cli", *args], env=server_env(settings), input=stdin,
                          capture_output=True, text=True, timeout=120, check=False)


def _ok(settings: Settings, *args: str, stdin: str | None = None) -> str:
    done = _run(settings, *args, stdin=stdin)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def cli_user(settings: Settings, owner_conn: psycopg.Connection[Any]) -> Any:
    yield NAME
    owner_conn.execute("DELETE FROM jmmctap_accounts.users WHERE name = %s", [NAME])


def test_an_operator_creates_a_user_with_groups_and_a_password_then_removes_it(
    settings: Settings, owner_conn: psycopg.Connection[Any], cli_user: str
) -> None:
    _ok(settings, "user", "add", cli_user, "--email", "cli@jmmc.fr", "--group", "cli-a", "--group", "cli-b",
        "--password-stdin", stdin="pass word:1\n")
    listed = [line.split("\t") for line in _ok(settings, "user", "list").splitlines()]
    mine = next(line for line in listed if line[0] == cli_user)
    assert mine[1:5] == ["cli@jmmc.fr", "cli-a,cli-b", "password", "tokens=0"]
    row = owner_conn.execute("SELECT password_hash FROM jmmctap_accounts.users WHERE name = %s", [cli_user]).fetchone()
    assert row is not None and row[0].startswith("$argon2id$") and "pass word" not in row[0]
    assert "removed" in _ok(settings, "user", "remove", cli_user)
    assert cli_user not in _ok(settings, "user", "list")


def test_group_members_are_added_and_removed(settings: Settings, cli_user: str) -> None:
    _ok(settings, "user", "add", cli_user)
    _ok(settings, "group", "add", "cli-team", cli_user)
    assert f"cli-team\t{cli_user}" in _ok(settings, "group", "list").splitlines()
    _ok(settings, "group", "remove-member", "cli-team", cli_user)
    assert "cli-team\t-" in _ok(settings, "group", "list").splitlines()


def test_token_create_prints_only_the_token_and_revoke_takes_it_or_its_id(settings: Settings, cli_user: str) -> None:
    _ok(settings, "user", "add", cli_user)
    first = _ok(settings, "token", "create", cli_user, "--expires-days", "30")
    assert re.fullmatch(r"jmt_[A-Za-z0-9_-]{43}\n", first)
    second = _ok(settings, "token", "create", cli_user).strip()
    listed = [line.split("\t") for line in _ok(settings, "token", "list", cli_user).splitlines()]
    assert [line[2] for line in listed] == ["active", "active"]
    assert listed[0][1] == first[:8] + "…" and listed[0][5] == "last-used=never"
    assert "revoked" in _ok(settings, "token", "revoke", first.strip())
    assert "revoked" in _ok(settings, "token", "revoke", listed[1][0])
    assert [line.split("\t")[2] for line in _ok(settings, "token", "list", cli_user).splitlines()] == [
        "revoked", "revoked"]
    assert second not in _ok(settings, "token", "list", cli_user)


@pytest.mark.parametrize(("args", "stdin", "words"), [
    (("user", "remove", "nobody@test.jmmc.fr"), None, ["no user named"]),
    (("user", "add", "a:b"), None, ["invalid user name"]),
    (("user", "add", NAME, "--password-stdin"), "\n", ["empty password"]),
    (("group", "add", "g", "nobody@test.jmmc.fr"), None, ["no user named"]),
    (("token", "create", "nobody@test.jmmc.fr"), None, ["no user named"]),
    (("token", "revoke", "not-a-token"), None, ["neither a token"]),
])
def test_mistakes_are_one_line_errors(
    settings: Settings, args: tuple[str, ...], stdin: str | None, words: list[str], cli_user: str
) -> None:
    done = _run(settings, *args, stdin=stdin)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("jmmctap: error:") and all(word in line for word in words)


def test_a_second_add_of_the_same_user_is_refused(settings: Settings, cli_user: str) -> None:
    _ok(settings, "user", "add", cli_user)
    done = _run(settings, "user", "add", cli_user)
    assert done.returncode == 1 and "already exists" in done.stderr
