"""The jmmctap command: bad configuration is one line and a non-zero exit, never a traceback."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from jmmctap.db.migrate import available_migrations
from jmmctap.settings import Settings
from tests.conftest import clean_env, free_port, server_env, spawn_server, stop_server


def run_cli(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jmmctap.cli", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("jmmctap: error:")]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0]


def test_unwritable_home_is_one_line() -> None:
    result = run_cli("db", "init", env=clean_env(JMMCTAP_HOME="/etc/hostname/jmmctap"))
    assert_one_line_error(result, "JMMCTAP_HOME")


def test_missing_pgsphere_names_the_package(tmp_path: Path) -> None:
    env = clean_env(JMMCTAP_HOME=str(tmp_path), JMMCTAP_PG_SHAREDIR=str(tmp_path / "share"))
    assert_one_line_error(run_cli("db", "init", env=env), "apt-get install postgresql-15-pgsphere")


def test_missing_postgresql_names_the_package(tmp_path: Path) -> None:
    env = clean_env(JMMCTAP_HOME=str(tmp_path), JMMCTAP_PG_BINDIR=str(tmp_path / "bin"))
    assert_one_line_error(run_cli("serve", "--port", str(free_port()), env=env), "apt-get install postgresql-15")


def test_unreachable_dsn_is_one_line() -> None:
    env = clean_env(JMMCTAP_DSN="host=127.0.0.1 port=1 dbname=nothing user=nobody connect_timeout=2")
    assert_one_line_error(run_cli("db", "init", env=env), "cannot connect")


def test_invalid_dsn_is_one_line() -> None:
    assert_one_line_error(run_cli("db", "status", env=clean_env(JMMCTAP_DSN="not a dsn ===")), "JMMCTAP_DSN")


def test_port_in_use_is_one_line(settings: Settings) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("serve", "--port", str(port), env=server_env(settings))
    assert_one_line_error(result, "Address already in use")


def test_status_of_the_test_database(settings: Settings) -> None:
    result = run_cli("db", "status", env=server_env(settings))
    assert result.returncode == 0, result.stderr
    assert "running: yes" in result.stdout
    assert "schema version: 1" in result.stdout or "schema version:" in result.stdout


@pytest.mark.slow
def test_second_instance_with_its_own_home_runs_beside_the_first(live_server: str) -> None:
    """JMMCTAP_HOME=/tmp/x JMMCTAP_PORT=p jmmctap serve: a second private cluster, a second server."""
    home = tempfile.mkdtemp(prefix="jmmctap-second-")
    port = free_port()
    env = clean_env(JMMCTAP_HOME=home, JMMCTAP_PORT=str(port))
    try:
        process = spawn_server(env, port)
        try:
            for base in (live_server, f"http://127.0.0.1:{port}/tap"):
                assert "<vosi:available>true" in httpx.get(f"{base}/availability").text
        finally:
            stop_server(process)
        status = run_cli("db", "status", env=env)
        assert f"location: {home}/pg" in status.stdout and "running: yes" in status.stdout
        assert run_cli("db", "stop", env=env).returncode == 0
        assert "running: no" in run_cli("db", "status", env=env).stdout
        # Started again, the second instance finds its data where it left it.
        assert run_cli("db", "start", env=env).returncode == 0
        latest = max(m.version for m in available_migrations())
        assert f"schema version: {latest} (latest {latest})" in run_cli("db", "status", env=env).stdout
    finally:
        run_cli("db", "stop", env=env)
        shutil.rmtree(home, ignore_errors=True)



def test_declaration_of_a_missing_table_is_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    import psycopg

    from jmmctap.db.connect import conninfos
    from jmmctap.errors import ConfigError
    from jmmctap.tapschema.declare import publish_declarations

    (tmp_path / "bad.yaml").write_text("schemas:\n- name: nosuchschema_x\n  tables:\n  - name: nosuchschema_x.t\n"
                                       "    columns:\n    - {name: c, datatype: int}\n")
    with psycopg.connect(conninfos(settings).owner, autocommit=True) as conn:
        with pytest.raises(ConfigError, match=r"table nosuchschema_x\.t"):
            publish_declarations(conn, settings.query_role, tmp_path)
        assert conn.execute("SELECT 1 FROM tap_schema.schemas WHERE schema_name = 'nosuchschema_x'").fetchone() is None
