"""Session fixtures: a private PostgreSQL + pgsphere cluster, the app in-process, a live server.

The cluster is created in a temporary directory (never the user's ``$JMMCTAP_HOME``), or the
database named by ``JMMCTAP_TEST_DSN`` is used. No database is ever mocked.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from asgi_lifespan import LifespanManager

from jmmctap.app import create_app
from jmmctap.db.cluster import EmbeddedCluster
from jmmctap.db.connect import conninfos
from jmmctap.db.migrate import init_database, query_conninfo
from jmmctap.errors import NotFoundError
from jmmctap.settings import Settings
from tests.support.accounts import TestAccount, create_account
from tests.support.shared import SHARED as SHARED  # re-exported: older tests import it from here

FAST_CLUSTER_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
"""Durability is pointless for a throw-away test cluster."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for spawned jmmctap processes: no inherited JMMCTAP_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JMMCTAP_")}
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def settings() -> Iterator[Settings]:
    """Settings of the test database, initialised with every migration."""
    dsn = os.environ.get("JMMCTAP_TEST_DSN")
    home = Path(tempfile.mkdtemp(prefix="jmmctap-test-"))
    if dsn:
        test_settings = Settings(dsn=dsn, home=home, port=free_port())
        init_database(test_settings)
        yield test_settings
        shutil.rmtree(home, ignore_errors=True)
        return
    test_settings = Settings(home=home, port=free_port())
    cluster = EmbeddedCluster.from_settings(test_settings)
    cluster.start(FAST_CLUSTER_OPTIONS)
    try:
        init_database(test_settings)
        yield test_settings
    finally:
        cluster.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def owner_conn(settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection as the owner role."""
    with psycopg.connect(conninfos(settings).owner, autocommit=True) as conn:
        yield conn


@pytest.fixture
def make_account(settings: Settings) -> Iterator[Callable[..., TestAccount]]:
    """Create users on the test database: ``make_account(groups=["g"])`` → ``TestAccount`` (name, password,
    token); removed (tokens and memberships too) after the test. The servers see them at once."""
    from jmmctap.accounts.store import remove_user

    created: list[str] = []
    with psycopg.connect(conninfos(settings).owner, autocommit=True) as conn:
        def make(name: str | None = None, **options: Any) -> TestAccount:
            account = create_account(conn, name, **options)
            created.append(account.name)
            return account
        yield make
        for name in created:
            with contextlib.suppress(NotFoundError):  # the test removed it itself
                remove_user(conn, name)


@pytest.fixture(scope="session")
def query_dsn(settings: Settings) -> str:
    """Connection string of the SELECT-only query role."""
    infos = conninfos(settings)
    with psycopg.connect(infos.owner) as conn:
        return query_conninfo(conn, infos)


@pytest.fixture(scope="session")
def testdata(settings: Settings) -> None:
    """Publish ``testdata.numbers`` (20,000 rows) and the 10M-row view ``testdata.series``."""
    from tests.support.testdata import create_testdata

    with psycopg.connect(conninfos(settings).owner, autocommit=True) as conn:
        create_testdata(conn, settings.query_role)


@pytest.fixture(scope="session")
def votable_tables(settings: Settings) -> dict[Path, str]:
    """Every real VOTable ``jmmctap ingest`` accepts (``tests/support/votables.py``), published once: file → table."""
    from tests.support.votables import ingest_votables, ingestible_votables

    with psycopg.connect(conninfos(settings).owner, autocommit=True) as conn:
        return ingest_votables(conn, ingestible_votables(), settings.query_role)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The application in-process, lifespan included."""
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


_SERVER_LOGS: dict[int, Path] = {}
"""Log file of each spawned server, by pid."""


def spawn_server(env: dict[str, str], port: int, timeout_s: float = 60) -> subprocess.Popen[bytes]:
    """Start ``jmmctap serve`` and wait until ``/health`` answers.

    Its output goes to a file, not a pipe: nobody reads a pipe while the tests run, and a server that
    logs every request blocks on a full one (64 KiB) and stops answering.
    """
    with tempfile.NamedTemporaryFile(prefix="jmmctap-serve-", suffix=".log", delete=False) as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "jmmctap.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    _SERVER_LOGS[process.pid] = Path(log.name)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = _SERVER_LOGS.pop(process.pid).read_text(errors="replace")
            raise RuntimeError(f"jmmctap serve exited with {process.returncode}: {output}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    process.wait()
    output = _SERVER_LOGS.pop(process.pid).read_text(errors="replace")
    raise RuntimeError(f"jmmctap serve did not come up: {output}")


def server_output(process: subprocess.Popen[bytes]) -> str:
    """What a spawned server printed so far."""
    log = _SERVER_LOGS.get(process.pid)
    return "" if log is None else log.read_text(errors="replace")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log = _SERVER_LOGS.pop(process.pid, None)
    if log is not None:
        log.unlink(missing_ok=True)


def server_env(settings: Settings) -> dict[str, str]:
    """Environment that points a spawned jmmctap at the test database."""
    if settings.dsn:
        return clean_env(JMMCTAP_DSN=settings.dsn, JMMCTAP_HOME=str(settings.home))
    return clean_env(JMMCTAP_HOME=str(settings.home))


@pytest.fixture(scope="session")
def live_process(settings: Settings, testdata: None) -> Iterator[tuple[str, int]]:
    """A real ``jmmctap serve`` on the test database; yields (TAP base URL, server pid).

    The test tables are published before it starts, so no test races its TAP_SCHEMA reload.
    """
    port = free_port()
    process = spawn_server(server_env(settings), port)
    try:
        yield f"http://127.0.0.1:{port}/tap", process.pid
    finally:
        stop_server(process)


@pytest.fixture(scope="session")
def live_server(live_process: tuple[str, int]) -> str:
    """The TAP base URL of the live server."""
    return live_process[0]
