"""Stateless front-ends (issue 21 item 3): real ``serve`` and ``worker`` processes that share only the database.

Each process has its own ``JMMCTAP_HOME`` (so its own would-be results directory) and the database results
store: a job created through one front-end is polled, aborted, fetched and deleted through another, and run
by a third process. A worker told to stop (SIGTERM) hands its running job back, and another one completes
it; ``serve`` told to stop refuses new connections but finishes the sync query it is answering.

A query is held running, without any timing, by a lock the test takes on its table.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from astropy.io.votable import parse_single_table
from lxml import etree

from jmmctap.db.connect import conninfos
from jmmctap.settings import Settings
from tests.conftest import clean_env, free_port, server_output, spawn_server, stop_server
from tests.uws.test_worker import LONG_QUERY

pytestmark = pytest.mark.slow

UWS = "{http://www.ivoa.net/xml/UWS/v1.0}"
UPLOAD = (b'<VOTABLE version="1.4"><RESOURCE><TABLE><FIELD name="n" datatype="int"/>'
          b"<DATA><TABLEDATA><TR><TD>3</TD></TR><TR><TD>5</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>")
JOIN = "SELECT t.n, x.label FROM TAP_UPLOAD.t AS t JOIN testdata.numbers AS x ON x.n = t.n ORDER BY t.n"
"""A job with an upload, reading the table the tests lock."""
BOUND_S = 60.0
"""Generous bound of every wait for another process (never a measured time)."""


def _env(settings: Settings, home: Path, **extra: str) -> dict[str, str]:
    """A process on the cluster as on a database of its own (JMMCTAP_DSN; ``serve`` checks its set-up as the
    cluster's superuser would), with a home of its own."""
    return clean_env(JMMCTAP_DSN=conninfos(settings).admin, JMMCTAP_HOME=str(home), JMMCTAP_RESULTS_STORE="database",
                     JMMCTAP_ASYNC_WORKERS="0", **extra)


def _wait_for(condition: Callable[[], bool], what: str, detail: Callable[[], str] = str) -> None:
    deadline = time.monotonic() + BOUND_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for: {what} {detail()}")
        time.sleep(0.1)


class _Worker:
    """A ``jmmctap worker --workers 1`` process, its output in a file."""

    def __init__(self, settings: Settings, home: Path) -> None:
        self.settings = settings
        self.log = Path(tempfile.mkstemp(prefix="jmmctap-worker-", suffix=".log")[1])
        with self.log.open("wb") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "jmmctap.cli", "worker", "--workers", "1"],
                                            env=_env(settings, home), stdout=out, stderr=subprocess.STDOUT)
        _wait_for(self.registered, "the worker to register", self.output)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def registered(self) -> bool:
        assert self.process.poll() is None, self.output()
        with psycopg.connect(conninfos(self.settings).owner) as conn:
            return conn.execute("SELECT 1 FROM uws.worker WHERE os_pid = %s", [self.process.pid]).fetchone() is not None

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=BOUND_S)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self.log.unlink(missing_ok=True)


@pytest.fixture
def homes(tmp_path: Path) -> dict[str, Path]:
    return {name: tmp_path / name for name in ("a", "b", "worker", "worker2")}


@pytest.fixture
def front_ends(uws_settings: Settings, homes: dict[str, Path], store: Any) -> Iterator[tuple[str, str]]:
    """Two ``serve`` processes on the UWS tests' cluster, running no jobs themselves (store: no job left)."""
    ports = free_port(), free_port()
    first = spawn_server(_env(uws_settings, homes["a"]), ports[0])
    try:
        second = spawn_server(_env(uws_settings, homes["b"]), ports[1])
        try:
            yield f"http://127.0.0.1:{ports[0]}/tap", f"http://127.0.0.1:{ports[1]}/tap"
        finally:
            stop_server(second)
    finally:
        stop_server(first)


@contextlib.contextmanager
def _locked(settings: Settings, table: str = "testdata.numbers") -> Iterator[Callable[[], None]]:
    """Hold an ACCESS EXCLUSIVE lock on ``table``: queries reading it wait. Yields the release."""
    conn = psycopg.connect(conninfos(settings).owner)
    conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")  # our own constant name
    try:
        yield conn.commit
    finally:
        conn.rollback()
        conn.close()


def _waiting_queries(settings: Settings) -> int:
    """Query-role statements waiting for the test's lock."""
    with psycopg.connect(conninfos(settings).admin) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = %s AND wait_event_type = 'Lock'"
                           " AND backend_type = 'client backend'", [settings.query_role]).fetchone()
    return int(row[0]) if row else 0


def _activity(settings: Settings) -> str:
    """The backends of the query role, for failure messages (the superuser sees every session's state)."""
    with psycopg.connect(conninfos(settings).admin) as conn:
        rows = conn.execute("SELECT backend_type, state, wait_event_type, left(query, 60) FROM pg_stat_activity"
                            " WHERE usename = %s", [settings.query_role]).fetchall()
    return "\n".join(map(str, rows))


def _active_queries(settings: Settings) -> int:
    with psycopg.connect(conninfos(settings).admin) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = %s AND state = 'active'"
                           " AND backend_type = 'client backend'", [settings.query_role]).fetchone()
    return int(row[0]) if row else 0


def _phase(base: str, url: str, wait: str | None = None) -> str:
    params = {"WAIT": wait} if wait else {}
    job = etree.fromstring(httpx.get(f"{base}/async/{url}", params=params, timeout=BOUND_S + 10).content)
    return str(job.findtext(f"{UWS}phase"))


def _create(base: str, data: dict[str, str], files: Any = None) -> str:
    response = httpx.post(f"{base}/async", data={"LANG": "ADQL", "PHASE": "RUN", **data}, files=files,
                          follow_redirects=False, timeout=30)
    assert response.status_code == 303, response.text
    return str(response.headers["location"]).rsplit("/", 1)[1]


def _stored(settings: Settings, job_id: str) -> int:
    with psycopg.connect(conninfos(settings).owner) as conn:
        row = conn.execute("SELECT count(*) FROM uws.stored_chunk WHERE job_id = %s", [job_id]).fetchone()
    return int(row[0]) if row else 0


def test_any_front_end_answers_for_a_job_run_by_another_process(
    uws_settings: Settings, front_ends: tuple[str, str], homes: dict[str, Path]
) -> None:
    a, b = front_ends
    worker = _Worker(uws_settings, homes["worker"])
    try:
        job_id = _create(a, {"QUERY": JOIN, "UPLOAD": "t,param:f"}, files={"f": ("t.xml", UPLOAD)})
        _wait_for(lambda: _phase(b, job_id, wait="10") == "COMPLETED", "the job to complete, seen on b",
                  lambda: worker.output())
        result = httpx.get(f"{b}/async/{job_id}/results/result", timeout=30)
        table = parse_single_table(io.BytesIO(result.content)).to_table()
        assert list(table["n"]) == [3, 5] and [str(v) for v in table["label"]] == ["n3", "n5"]
        assert httpx.get(f"{a}/async/{job_id}/parameters/f", timeout=30).content == UPLOAD

        long_job = _create(b, {"QUERY": LONG_QUERY})
        _wait_for(lambda: _phase(a, long_job) == "EXECUTING" and _active_queries(uws_settings) == 1,
                  "the long job to run in the worker", lambda: worker.output())
        assert httpx.post(f"{a}/async/{long_job}/phase", data={"PHASE": "ABORT"}, timeout=30).status_code == 303
        assert _phase(b, long_job) == "ABORTED"
        _wait_for(lambda: _active_queries(uws_settings) == 0, "the worker's query to stop in PostgreSQL")

        assert _stored(uws_settings, job_id) == 2  # the result and the upload
        assert httpx.delete(f"{b}/async/{job_id}", timeout=30).status_code == 303
        assert httpx.get(f"{a}/async/{job_id}", timeout=30).status_code == 404
        assert _stored(uws_settings, job_id) == 0
    finally:
        assert worker.stop() == 0
    assert not [path for home in homes.values() for path in home.glob("results")]  # nothing on any disk


def test_a_stopped_worker_hands_its_job_back_and_another_completes_it(
    uws_settings: Settings, front_ends: tuple[str, str], homes: dict[str, Path]
) -> None:
    a, b = front_ends
    first = _Worker(uws_settings, homes["worker"])
    second = None
    try:
        with _locked(uws_settings) as release:
            job_id = _create(a, {"QUERY": JOIN, "UPLOAD": "t,param:f"}, files={"f": ("t.xml", UPLOAD)})
            _wait_for(lambda: _phase(b, job_id) == "EXECUTING" and _waiting_queries(uws_settings) == 1,
                      "the job's query to wait for the lock in the first worker", first.output)
            output = first.log.read_text(errors="replace")
            assert first.stop() == 0, output
            assert _phase(a, job_id) == "QUEUED"  # handed back, not failed
            assert _waiting_queries(uws_settings) == 0  # its query was cancelled
            second = _Worker(uws_settings, homes["worker2"])
            _wait_for(lambda: _phase(b, job_id) == "EXECUTING", "the second worker to claim the job")
            release()
            _wait_for(lambda: _phase(a, job_id, wait="10") == "COMPLETED", "the job to complete", second.output)
        result = httpx.get(f"{b}/async/{job_id}/results/result", timeout=30)
        assert len(parse_single_table(io.BytesIO(result.content)).to_table()) == 2
    finally:
        first.stop()
        if second is not None:
            assert second.stop() == 0


def test_a_stopping_front_end_finishes_its_sync_query_but_takes_no_new_connection(uws_settings: Settings,
                                                                                   tmp_path: Path) -> None:
    port = free_port()
    server = spawn_server(_env(uws_settings, tmp_path / "c", JMMCTAP_SHUTDOWN_GRACE_S="120"), port)
    base = f"http://127.0.0.1:{port}/tap"
    answers: list[httpx.Response] = []
    try:
        with _locked(uws_settings) as release:
            def query() -> None:
                answers.append(httpx.post(f"{base}/sync", timeout=BOUND_S + 60, data={
                    "QUERY": "SELECT TOP 3 n FROM testdata.numbers ORDER BY n", "RESPONSEFORMAT": "csv"}))

            client = threading.Thread(target=query)
            client.start()
            _wait_for(lambda: _waiting_queries(uws_settings) == 1, "the sync query to wait for the lock",
                      lambda: server_output(server)[-3000:])
            os.kill(server.pid, signal.SIGTERM)
            _wait_for(lambda: "draining" in server_output(server), "the server to drain")
            with pytest.raises(httpx.ConnectError):  # no new connection is accepted while it drains
                httpx.get(f"{base.removesuffix('/tap')}/health/live", timeout=5)
            assert server.poll() is None  # still answering the query
            release()
            client.join(BOUND_S)
        assert [(r.status_code, r.text.split()) for r in answers] == [(200, ["n", "1", "2", "3"])]
        assert server.wait(timeout=BOUND_S) in (0, -signal.SIGTERM)
    finally:
        stop_server(server)
