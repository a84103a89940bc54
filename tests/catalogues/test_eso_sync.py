"""sync-eso against a real TAP server (jmmctap serving a dbo.raw extract) and a real-header service.

The archive stand-in: ``jmmctap serve`` on the test database publishes ``dbo.raw`` built from real rows
(``tests/data/eso_sync``), queried over TAP with ADQL as archive.eso.org/tap_obs is, and a local HTTP
server answers ``/hdr?DpId=`` with the real headers of ``ingest/samples`` (and of ``../shared``'s
oimodeler products when it is there).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest

from jmmctap.catalogues.eso_archive import Checkpoint, changed_rows_query
from jmmctap.catalogues.eso_sync import sync_eso
from jmmctap.catalogues.eso_sync_store import SYNC_LOCK
from jmmctap.context import open_process_context
from jmmctap.db.connect import conninfos
from jmmctap.errors import ConflictError
from jmmctap.ingest.drop import drop_table
from jmmctap.settings import Settings
from tests.catalogues.conftest import _truncate
from tests.conftest import free_port, server_env, spawn_server, stop_server
from tests.support.eso_archive import HeaderService, dump_catalogues, header_files, load_dbo_raw

GRAVITY_DP_ID = "GRAVI.2016-06-23T03:10:17.458"
"""The shipped GRAVITY header (no ARCFILE: the archive's DP.ID names it)."""


@dataclasses.dataclass(frozen=True)
class Archive:
    """The running stand-in and the settings that point sync-eso at it."""

    settings: Settings
    headers: HeaderService
    served: frozenset[str]
    env: dict[str, str]


@pytest.fixture(scope="module")
def archive(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    files = header_files()
    headers = HeaderService(files)
    with psycopg.connect(conninfos(settings).owner, autocommit=True) as conn:
        rows = load_dbo_raw(conn, tmp_path_factory.mktemp("dbo"), settings.query_role, set(files))
    assert rows == len(files)
    port = free_port()
    server = spawn_server(server_env(settings), port)
    tap_url = f"http://127.0.0.1:{port}/tap"
    # a small page: the 50-odd exposures come in several keyset pages
    overrides = {"eso_tap_url": tap_url, "eso_header_url": headers.url_template, "eso_sync_rate": 1000.0,
                 "eso_sync_page_size": 7}
    env = {**server_env(settings), **{f"JMMCTAP_{k.upper()}": str(v) for k, v in overrides.items()}}
    try:
        yield Archive(dataclasses.replace(settings, **overrides), headers, frozenset(files), env)  # type: ignore[arg-type]
    finally:
        stop_server(server)
        headers.close()
        with psycopg.connect(conninfos(settings).owner, autocommit=True) as conn:
            drop_table(conn, "dbo.raw")


@pytest.fixture
def fresh(archive: Archive, owner_conn: psycopg.Connection[Any]) -> Iterator[psycopg.Connection[Any]]:
    """Empty catalogues and no sync history; the header service forgets its requests."""
    _reset(owner_conn)
    archive.headers.reset()
    yield owner_conn
    _reset(owner_conn)


def _reset(conn: psycopg.Connection[Any]) -> None:
    _truncate(conn)
    conn.execute("TRUNCATE jmmctap.eso_sync_exposures, jmmctap.eso_sync_runs")
    conn.execute("UPDATE jmmctap.eso_sync_state SET last_mod_date = NULL, last_dp_id = NULL")


def _scalar(conn: psycopg.Connection[Any], query: str, params: list[Any] | None = None) -> Any:
    row = conn.execute(query, params or []).fetchone()
    assert row is not None
    return row[0]


def test_the_query_is_keyset_paged_adql() -> None:
    after = Checkpoint(datetime(2016, 10, 18, 0, 40, 30, 120000, tzinfo=UTC), "GRAVI.2016-06-23T03:10:17.458")
    assert changed_rows_query(after, 100) == (
        "SELECT TOP 100 dp_id, last_mod_date, instrument FROM dbo.raw"
        " WHERE instrument IN ('AMBER', 'GRAVITY', 'MATISSE', 'MIDI', 'PIONIER', 'VINCI')"
        " AND (last_mod_date > '2016-10-18T00:40:30.120' OR (last_mod_date = '2016-10-18T00:40:30.120'"
        " AND dp_id > 'GRAVI.2016-06-23T03:10:17.458')) ORDER BY last_mod_date, dp_id")
    assert changed_rows_query(Checkpoint(), 5).endswith(
        "WHERE instrument IN ('AMBER', 'GRAVITY', 'MATISSE', 'MIDI', 'PIONIER', 'VINCI')"
        " ORDER BY last_mod_date, dp_id")


def test_first_sync_loads_every_exposure_and_a_second_is_a_no_op(archive: Archive,
                                                                  fresh: psycopg.Connection[Any]) -> None:
    conn = fresh
    first = sync_eso(archive.settings)
    assert (first.status, first.added, first.updated, first.unchanged, first.failed) == (
        "ok", len(archive.served), 0, 0, 0)
    assert sorted(archive.headers.requests) == sorted(archive.served)  # each header fetched once
    assert _scalar(conn, "SELECT count(*) FROM obsportal.exposures") == len(archive.served)
    assert _scalar(conn, "SELECT count(*) FROM obsportal.exposures WHERE exp_header_id <> ALL(%s)",
                   [list(archive.served)]) == 0
    assert _scalar(conn, "SELECT count(*) FROM ivoa.obscore WHERE calib_level = 0") == len(archive.served)
    # the same header ingestion as ingest-eso: stations, baselines, setup, target, validation
    row = conn.execute(
        """SELECT interferometer_stations, instrument_mode, instrument_submode, target_id IS NOT NULL,
                  exp_validation_log, (SELECT count(*) FROM obsportal.baselines b WHERE b.exp_id = e.exp_id)
           FROM obsportal.exposures e WHERE exp_header_id = %s""", [GRAVITY_DP_ID]).fetchone()
    assert row is not None
    assert row[:4] == ("A0 B2 D0 C1", "MEDIUM-COMBINED", "SINGLE", True)
    assert "Missing 'ARCFILE'" not in row[4]  # the archive named it
    assert row[5] == 6
    newest = _scalar(conn, "SELECT max(last_mod_date) FROM dbo.raw WHERE instrument = ANY(%s)",
                     [["AMBER", "GRAVITY", "MATISSE", "PIONIER"]])
    assert first.last_mod_date is not None and first.last_mod_date.replace(tzinfo=None) == newest

    archive.headers.reset()
    second = sync_eso(archive.settings)
    assert (second.status, second.added, second.updated, second.unchanged, second.failed) == ("ok", 0, 0, 0, 0)
    assert archive.headers.requests == []
    assert second.last_mod_date == first.last_mod_date


def test_a_changed_last_mod_date_reingests_exactly_that_exposure(archive: Archive,
                                                                 fresh: psycopg.Connection[Any]) -> None:
    conn = fresh
    sync_eso(archive.settings)
    before = dump_catalogues(conn)
    original = _scalar(conn, "SELECT last_mod_date FROM dbo.raw WHERE dp_id = %s", [GRAVITY_DP_ID])
    header = archive.headers.headers[GRAVITY_DP_ID].read_text()
    archive.headers.overrides[GRAVITY_DP_ID] = header.replace(
        "HIERARCH ESO ISS AMBI TEMP = 14.89 /", "HIERARCH ESO ISS AMBI TEMP = 15.89 /")
    conn.execute("UPDATE dbo.raw SET last_mod_date = '2031-01-02T03:04:05.678' WHERE dp_id = %s", [GRAVITY_DP_ID])
    try:
        archive.headers.reset()
        run = sync_eso(archive.settings)
    finally:
        conn.execute("UPDATE dbo.raw SET last_mod_date = %s WHERE dp_id = %s", [original, GRAVITY_DP_ID])
        archive.headers.overrides.clear()
    assert (run.added, run.updated, run.unchanged, run.failed) == (0, 1, 0, 0)
    assert archive.headers.requests == [GRAVITY_DP_ID]
    assert _scalar(conn, "SELECT exp_temperature FROM obsportal.exposures WHERE exp_header_id = %s",
                   [GRAVITY_DP_ID]) == pytest.approx(15.89)
    after = dump_catalogues(conn)
    changed = [t for t in before if before[t] != after[t]]
    assert changed == ["obsportal.exposures"]  # one exposure's temperature; its baselines, target and L0 alike
    assert len(set(before["obsportal.exposures"]) - set(after["obsportal.exposures"])) == 1
    assert _scalar(conn, "SELECT last_mod_date FROM jmmctap.eso_sync_exposures WHERE dp_id = %s",
                   [GRAVITY_DP_ID]) == datetime(2031, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def test_missing_headers_are_recorded_and_passing_outages_retried(archive: Archive,
                                                                  fresh: psycopg.Connection[Any]) -> None:
    conn = fresh
    missing, flaky = sorted(archive.served)[:2]
    archive.headers.missing.add(missing)
    archive.headers.fail_once.add(flaky)
    try:
        run = sync_eso(archive.settings)
    finally:
        archive.headers.missing.clear()
    assert (run.status, run.added, run.failed) == ("ok", len(archive.served) - 1, 1)
    assert run.last_error is not None and missing in run.last_error and "404" in run.last_error
    assert archive.headers.requests.count(flaky) == 2  # 503, then after the backoff the header
    assert _scalar(conn, "SELECT outcome FROM jmmctap.eso_sync_exposures WHERE dp_id = %s", [missing]) == "failed"
    # a failed exposure is tried again only when the archive changes it
    archive.headers.reset()
    again = sync_eso(archive.settings)
    assert (again.added, again.failed, archive.headers.requests) == (0, 0, [])


def test_an_unreachable_archive_stops_the_run_with_its_reason(archive: Archive, fresh: psycopg.Connection[Any]) -> None:
    dead = dataclasses.replace(archive.settings, eso_tap_url=f"http://127.0.0.1:{free_port()}/tap",
                               eso_sync_retries=1)
    run = sync_eso(dead)
    assert run.status == "error"
    assert run.last_error is not None and "ConnectError" in run.last_error and "after 1 retries" in run.last_error
    assert _scalar(fresh, "SELECT count(*) FROM obsportal.exposures") == 0


def test_one_sync_at_a_time(archive: Archive, fresh: psycopg.Connection[Any], settings: Settings) -> None:
    with psycopg.connect(conninfos(settings).owner, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(hashtext(%s))", [SYNC_LOCK])
        with pytest.raises(ConflictError, match="another sync-eso is running"):
            sync_eso(archive.settings)
        result = subprocess.run([sys.executable, "-m", "jmmctap.cli", "sync-eso"], env=archive.env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 1
        assert "another sync-eso is running" in result.stderr
    assert archive.headers.requests == []


def test_a_killed_sync_then_a_rerun_ends_as_an_uninterrupted_one(archive: Archive,
                                                                 fresh: psycopg.Connection[Any]) -> None:
    conn = fresh
    assert _run_cli(archive).returncode == 0
    uninterrupted = dump_catalogues(conn)
    order = list(archive.headers.requests)
    _reset(conn)
    archive.headers.reset()

    committed = archive.settings.eso_sync_page_size + 1  # the kill comes in the second page
    assert len(archive.served) > committed
    archive.headers.hold_at = committed + 1
    process = subprocess.Popen([sys.executable, "-m", "jmmctap.cli", "sync-eso"], env=archive.env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert archive.headers.held.wait(120), "the sync never asked for the header it is to be killed at"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(30)
    finally:
        archive.headers.release.set()
        if process.poll() is None:
            process.kill()
            process.wait()
    _wait_for_backend_exit(conn)
    assert _scalar(conn, "SELECT count(*) FROM jmmctap.eso_sync_exposures") == committed
    assert _scalar(conn, "SELECT status FROM jmmctap.eso_sync_runs") == "running"
    assert _scalar(conn, "SELECT last_dp_id FROM jmmctap.eso_sync_state") == order[committed - 1]

    archive.headers.reset()
    rerun = _run_cli(archive)
    assert rerun.returncode == 0, rerun.stderr
    assert archive.headers.requests == order[committed:]  # nothing committed is fetched again
    assert dump_catalogues(conn) == uninterrupted
    statuses = conn.execute("SELECT status, added FROM jmmctap.eso_sync_runs ORDER BY run_id").fetchall()
    assert statuses == [("interrupted", committed), ("ok", len(archive.served) - committed)]


def _run_cli(archive: Archive) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jmmctap.cli", "sync-eso"], env=archive.env,
                          capture_output=True, text=True, timeout=300)


def _wait_for_backend_exit(conn: psycopg.Connection[Any]) -> None:
    """PostgreSQL ends a killed client's session when it notices; until then its lock is held."""
    deadline = time.monotonic() + 60
    while _scalar(conn, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = hashtext(%s)::oid",
                  [SYNC_LOCK]) and time.monotonic() < deadline:
        time.sleep(0.1)


async def test_health_shows_the_sync_state(archive: Archive, fresh: psycopg.Connection[Any],
                                           client: httpx.AsyncClient) -> None:
    before = (await client.get("/health")).json()
    assert before["eso_sync"] is None
    run = sync_eso(archive.settings)
    state = (await client.get("/health")).json()["eso_sync"]
    assert state["status"] == "ok"
    assert (state["added"], state["updated"], state["unchanged"], state["failed"]) == (len(archive.served), 0, 0, 0)
    assert state["last_mod_date"] == run.last_mod_date.isoformat()  # type: ignore[union-attr]
    assert state["last_success_at"] == state["finished_at"]
    assert state["last_error"] is None
    page = await client.get("/health", headers={"Accept": "text/html"})
    assert "ESO archive sync" in page.text


async def test_serve_and_worker_sync_on_a_schedule_when_asked(archive: Archive,
                                                              fresh: psycopg.Connection[Any]) -> None:
    scheduled = dataclasses.replace(archive.settings, eso_sync_interval_s=3600.0)
    async with open_process_context(scheduled, job_slots=0):
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if fresh.execute("SELECT 1 FROM jmmctap.eso_sync_runs WHERE status <> 'running'").fetchone():
                break
            await asyncio.sleep(0.2)
    assert _scalar(fresh, "SELECT status FROM jmmctap.eso_sync_runs") == "ok"
    assert _scalar(fresh, "SELECT count(*) FROM obsportal.exposures") == len(archive.served)


def test_the_schedule_is_off_by_default() -> None:
    assert Settings().eso_sync_interval_s == 0
    assert Settings().eso_tap_url == "https://archive.eso.org/tap_obs"
    assert Settings().eso_header_url == "https://archive.eso.org/hdr?DpId={dp_id}"

