"""The production topology on one machine, from real parts (issue 21): primary + streaming replica, two
``jmmctap serve`` front-ends and a ``jmmctap worker`` behind HAProxy, driven by 16 pyvo clients.

::

    16 pyvo clients (threads: sync queries, async jobs)
          │  http://127.0.0.1:LB/tap
          ▼
    HAProxy (deploy/haproxy.cfg: roundrobin, GET /health/ready checks, L7 retries to the other server)
          │                         │
          ▼                         ▼
    jmmctap serve A           jmmctap serve B          jmmctap worker (runs every async job)
      │ jobs, ingest, accounts ─────┴───────────────────────┴──► PostgreSQL primary (JMMCTAP_DSN)
      │ sync queries, cone searches ──► PostgreSQL replica (JMMCTAP_QUERY_DSNS)  ◄── streaming, slot
                                                                    (pg_basebackup -R -S)

The figures (requests, errors, replica share) are printed (``pytest -s``) and written to
``topology-figures.txt`` in the test's temporary directory.
"""

from __future__ import annotations

import concurrent.futures
import gc
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import pyvo
import requests

from jmmctap.resources import PROJECT_ROOT
from jmmctap.settings import Settings
from tests.conftest import clean_env, free_port, spawn_server, stop_server
from tests.support.replication import SLOT, Replicated, replicated_clusters
from tests.support.testdata import NUMBERS_ROWS, create_testdata

pytestmark = [
    pytest.mark.topology,
    # pyvo's submit_job never closes the redirected response: its socket waits for the garbage collector
    pytest.mark.filterwarnings("ignore:unclosed:ResourceWarning"),
    pytest.mark.skipif(shutil.which("haproxy") is None, reason="needs haproxy (Debian package haproxy)"),
    pytest.mark.skipif(not (Settings().pg_bindir / "pg_basebackup").exists(),
                       reason="needs the PostgreSQL 15 binaries (pg_basebackup, Debian package postgresql-15)"),
]

CLIENTS = 16
"""Concurrent pyvo clients."""

LOAD_S = 20.0
"""How long the clients run before a front-end is killed, and again after (seconds)."""

HAPROXY_CFG = PROJECT_ROOT / "deploy" / "haproxy.cfg"
"""The load balancer's configuration of docker-compose.yml, run here with local addresses."""

KILLED_JOBS = 6
"""Async jobs created through front-end A just before it is killed."""

_VOTABLE = """<?xml version="1.0" encoding="UTF-8"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">
 <RESOURCE><TABLE name="fresh"><DESCRIPTION>Ingested while the clients run.</DESCRIPTION>
  <FIELD name="id" datatype="int"/><FIELD name="note" datatype="char" arraysize="*"/>
  <DATA><TABLEDATA><TR><TD>1</TD><TD>one</TD></TR><TR><TD>2</TD><TD>two</TD></TR><TR><TD>3</TD><TD>three</TD></TR>
  </TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>
"""


def _haproxy_cfg(port: int, servers: dict[str, int], socket_path: Path) -> str:
    """deploy/haproxy.cfg (the compose file's) with local addresses: the same checks, balancing and retries."""
    text = HAPROXY_CFG.read_text()
    local = {
        "global\n": f"global\n    stats socket {socket_path} mode 600 level admin\n",
        "bind :8080": f"bind 127.0.0.1:{port}",
        " resolvers docker init-addr": " init-addr",  # addresses, not Docker's DNS names
        **{f"tap-{name}:8000": f"127.0.0.1:{p}" for name, p in servers.items()},
    }
    for old, new in local.items():
        assert old in text, f"deploy/haproxy.cfg no longer has {old!r}: update this test"
        text = text.replace(old, new)
    return text


def _haproxy_stats(socket_path: Path) -> dict[str, dict[str, str]]:
    """``show stat`` of the admin socket: one row per proxy and server, keyed ``proxy/server``."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(socket_path))
        sock.sendall(b"show stat\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    header, *rows = [line for line in data.decode().splitlines() if line.strip()]
    names = header.lstrip("# ").split(",")
    table = [dict(zip(names, row.split(","), strict=False)) for row in rows]
    return {f"{r['pxname']}/{r['svname']}": r for r in table}


def _spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)


def _wait_for(url: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


class _Load:
    """16 clients through the load balancer until ``stop``: sync queries (3 in 4) and async jobs (1 in 4)."""

    def __init__(self, tap_url: str) -> None:
        self.tap_url = tap_url
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.done: Counter[str] = Counter()
        self.errors: list[str] = []

    def client(self, number: int) -> None:
        with requests.Session() as session:
            self._queries(number, pyvo.dal.TAPService(self.tap_url, session=session))

    def _queries(self, number: int, service: pyvo.dal.TAPService) -> None:
        rng = random.Random(number)
        turn = 0
        while not self.stop.is_set():
            low = rng.randint(1, NUMBERS_ROWS - 100)
            query = f"SELECT n, x, label FROM testdata.numbers WHERE n BETWEEN {low} AND {low + 49} ORDER BY n"
            kind = "async" if (number + turn) % 4 == 0 else "sync"
            turn += 1
            try:
                run = service.run_sync if kind == "sync" else service.run_async
                table = run(query).to_table()
                assert list(table["n"]) == list(range(low, low + 50)), "wrong rows"
                with self.lock:
                    self.done[kind] += 1
            except Exception as exc:  # every failure is counted and shown, none is retried by the client
                with self.lock:
                    self.errors.append(f"{kind}: {type(exc).__name__}: {exc}"[:300])

    def run_for(self, seconds: float, during: Any = None) -> None:
        """Run the clients for ``seconds``; ``during()`` (if given) is called once they are all running."""
        self.stop.clear()
        with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
            futures = [pool.submit(self.client, n) for n in range(CLIENTS)]
            time.sleep(2)
            if during is not None:
                during()
            time.sleep(max(0.0, seconds - 2))
            self.stop.set()
            for future in futures:
                future.result()


def _replica_sessions(clusters: Replicated, role: str) -> int:
    with clusters.admin(clusters.replica) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = %s", [role]).fetchone()
    return int(str(row[0])) if row else 0


def _replication(clusters: Replicated) -> tuple[str, bool]:
    with clusters.admin(clusters.primary) as conn:
        state = conn.execute("SELECT state FROM pg_stat_replication").fetchone()
        slot = conn.execute("SELECT active FROM pg_replication_slots WHERE slot_name = %s", [SLOT]).fetchone()
    return (str(state[0]) if state else "none"), bool(slot and slot[0])


def _transactions(clusters: Replicated) -> dict[str, int]:
    """Transactions ended (committed or rolled back) in the jmmctap database of each server so far."""
    ended = {}
    for name, cluster in (("primary", clusters.primary), ("replica", clusters.replica)):
        with clusters.admin(cluster) as conn:
            row = conn.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database"
                               " WHERE datname = current_database()").fetchone()
        ended[name] = int(str(row[0])) if row else 0
    return ended


def _replica_figures(health: dict[str, Any]) -> tuple[int, int]:
    """(queries on the replica, queries on the primary) a front-end's ``/health`` reports."""
    return sum(r["queries"] for r in health["replicas"]), int(health["primary_queries"])


def test_the_topology_serves_16_clients_from_the_replica_and_survives_a_dead_front_end(tmp_path: Path) -> None:
    with replicated_clusters("jmmctap-topology-") as clusters:
        _run_topology(clusters, tmp_path)


def _check_sticky_sessions(lb: str) -> None:
    """A client with a cookie session stays on one front-end (read-your-writes of its catalog API writes);
    one without cookies is balanced request by request."""
    with requests.Session() as session:
        first = session.get(f"{lb}/tap/availability", timeout=10)
        cookie = session.cookies.get("JMMCTAP_FRONTEND")
        assert first.status_code == 200 and cookie in ("a", "b")
        for _ in range(4):
            session.get(f"{lb}/tap/availability", timeout=10)
            assert session.cookies.get("JMMCTAP_FRONTEND") == cookie  # not set again: indirect, same server
    seen = {requests.get(f"{lb}/tap/availability", timeout=10).cookies.get("JMMCTAP_FRONTEND") for _ in range(4)}
    assert seen == {"a", "b"}


def _run_topology(clusters: Replicated, tmp_path: Path) -> None:
    lb_port, port_a, port_b = free_port(), free_port(), free_port()
    lb = f"http://127.0.0.1:{lb_port}"
    env = clean_env(
        JMMCTAP_HOME=str(tmp_path / "home"), JMMCTAP_DSN=clusters.primary_dsn,
        JMMCTAP_QUERY_DSNS=clusters.replica_dsn, JMMCTAP_PUBLIC_URL=lb,  # job URLs name the load balancer
        JMMCTAP_ASYNC_WORKERS="0",  # the worker runs every job: a dead front-end holds none
        JMMCTAP_RESULTS_STORE="database",  # results and uploads in PostgreSQL: any front-end serves any job
    )
    cli = [sys.executable, "-m", "jmmctap.cli"]
    subprocess.run([*cli, "db", "init"], env=env, check=True, capture_output=True)
    with psycopg.connect(clusters.primary_dsn, autocommit=True) as conn:
        create_testdata(conn, Settings().query_role)
    started = time.monotonic()
    subprocess.run([*cli, "load-samples"], env=env, check=True, capture_output=True)
    samples_s = time.monotonic() - started

    front = {"a": spawn_server(env, port_a), "b": spawn_server(env, port_b)}
    worker = _spawn([*cli, "worker", "--workers", "4"], env, tmp_path / "worker.log")
    cfg, stats_socket = tmp_path / "haproxy.cfg", tmp_path / "haproxy.sock"
    cfg.write_text(_haproxy_cfg(lb_port, {"a": port_a, "b": port_b}, stats_socket))
    haproxy = _spawn(["haproxy", "-db", "-f", str(cfg)], env, tmp_path / "haproxy.log")
    try:
        _wait_for(f"{lb}/health")
        _check_sticky_sessions(lb)
        figures = _exercise(clusters, tmp_path, lb, port_a, port_b, front, stats_socket)
        figures["load-samples (s)"] = round(samples_s, 1)
        report = "\n".join(f"{k}: {v}" for k, v in figures.items())
        (tmp_path / "topology-figures.txt").write_text(report + "\n")
        print("\ntopology figures\n" + report)
    finally:
        gc.collect()  # pyvo's leaked responses, while the filter above applies
        for process in (haproxy, worker):
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for process in front.values():
            if process.poll() is None:
                stop_server(process)


def _exercise(clusters: Replicated, tmp_path: Path, lb: str, port_a: int, port_b: int,
              front: dict[str, subprocess.Popen[bytes]], stats_socket: Path) -> dict[str, Any]:
    query_role = Settings().query_role
    assert _replication(clusters) == ("streaming", True)

    # a job created through one front-end is fetched through the other
    job = pyvo.dal.TAPService(f"http://127.0.0.1:{port_a}/tap").submit_job(
        "SELECT TOP 5 n FROM testdata.numbers ORDER BY n")
    job.run()
    job_id = job.url.rstrip("/").rsplit("/", 1)[-1]
    through_b = pyvo.dal.AsyncTAPJob(f"http://127.0.0.1:{port_b}/tap/async/{job_id}")
    through_b.wait(phases={"COMPLETED", "ERROR", "ABORTED"}, timeout=60)
    assert through_b.phase == "COMPLETED"
    assert list(through_b.fetch_result().to_table()["n"]) == [1, 2, 3, 4, 5]

    # 16 clients through HAProxy
    load = _Load(f"{lb}/tap")
    xacts_before = _transactions(clusters)
    sessions: list[int] = []
    load.run_for(LOAD_S, during=lambda: sessions.append(_replica_sessions(clusters, query_role)))
    assert load.errors == [], load.errors[:5]
    assert sessions[0] > 0  # the query role's sessions are on the replica
    first = dict(load.done)
    xacts = {k: v - xacts_before[k] for k, v in _transactions(clusters).items()}
    health_a = httpx.get(f"http://127.0.0.1:{port_a}/health?format=json", timeout=10).json()
    served_a = _replica_figures(health_a)
    assert health_a["replicas"][0]["serving"], health_a["replicas"]

    # a front-end killed mid-run loses no job: jobs created through A run on the worker, read through HAProxy
    service_a = pyvo.dal.TAPService(f"http://127.0.0.1:{port_a}/tap")
    jobs = [service_a.submit_job(f"SELECT COUNT(*) AS c FROM testdata.series WHERE n < {2_000_000 + i}")
            for i in range(KILLED_JOBS)]
    for j in jobs:
        j.run()
    errors_before_kill = len(load.errors)

    def kill_a() -> None:
        front["a"].send_signal(signal.SIGKILL)
        front["a"].wait()

    load.run_for(LOAD_S, during=kill_a)
    kill_errors = load.errors[errors_before_kill:]
    finished = []
    for j in jobs:
        via_lb = pyvo.dal.AsyncTAPJob(j.url)  # the job URL names the load balancer (JMMCTAP_PUBLIC_URL)
        assert via_lb.url.startswith(lb)
        via_lb.wait(phases={"COMPLETED", "ERROR", "ABORTED"}, timeout=120)
        finished.append(via_lb.phase)
        assert via_lb.phase == "COMPLETED", via_lb.phase
        assert via_lb.fetch_result().to_table()["c"][0] > 0
    assert kill_errors == [], kill_errors[:5]

    # an ingest, then at once a query through the load balancer: the new table is there
    votable = tmp_path / "fresh.vot"
    votable.write_text(_VOTABLE)
    subprocess.run([sys.executable, "-m", "jmmctap.cli", "ingest", str(votable), "--table", "topology.fresh"],
                   env=clean_env(JMMCTAP_DSN=clusters.primary_dsn, JMMCTAP_HOME=str(tmp_path / "home")),
                   check=True, capture_output=True)
    fresh = pyvo.dal.TAPService(f"{lb}/tap").run_sync("SELECT id, note FROM topology.fresh ORDER BY id").to_table()
    assert list(fresh["note"]) == ["one", "two", "three"]

    health_b = httpx.get(f"http://127.0.0.1:{port_b}/health?format=json", timeout=10).json()
    page = httpx.get(f"http://127.0.0.1:{port_b}/health?format=html", timeout=10).text
    assert "Read replicas" in page and "serving" in page
    served_b = _replica_figures(health_b)
    on_replica, on_primary = served_a[0] + served_b[0], served_a[1] + served_b[1]
    assert on_replica > on_primary  # the replica serves the queries
    stats = _haproxy_stats(stats_socket)
    front_end = stats["tap/FRONTEND"]
    return {
        "clients": CLIENTS,
        "load (s)": f"{LOAD_S:g} with both front-ends + {LOAD_S:g} after front-end A was killed (SIGKILL)",
        "queries before the kill (sync/async)": f"{first.get('sync', 0)}/{first.get('async', 0)}",
        "queries in all (sync/async)": f"{load.done['sync']}/{load.done['async']}",
        "HTTP requests through HAProxy": front_end["req_tot"],
        "HAProxy 5xx responses": front_end["hrsp_5xx"],
        "HAProxy retries / redispatches": f"{stats['jmmctap/BACKEND']['wretr']}/{stats['jmmctap/BACKEND']['wredis']}",
        "client errors": len(load.errors),
        "jobs created through A before its kill, completed": f"{finished.count('COMPLETED')}/{KILLED_JOBS}",
        "query-role sessions on the replica during the load": sessions[0],
        "user queries on the replica / on the primary (/health of A before its kill, of B at the end)":
            f"{on_replica}/{on_primary}",
        "replica share of the routed queries (sync, cone)": f"{on_replica / max(1, on_replica + on_primary):.1%}",
        "async job queries (run on the primary by design)": load.done["async"] + KILLED_JOBS + 1,
        "transactions during the first load, primary/replica (pg_stat_database)":
            f"{xacts['primary']}/{xacts['replica']}",
        "replication": "streaming, slot " + SLOT + " active",
    }

