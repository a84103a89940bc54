"""The service stays dependable: failing requests give their connections back, clients that stop reading
lock nobody out, a database outage is a 503 with Retry-After, and the first query after a restart works.

These tests run a real ``jmmctap serve`` on a cluster of their own: they stop and start it, and they
count the query role's backends in ``pg_stat_activity``, which other servers of the session would blur.
"""

from __future__ import annotations

import io
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import psycopg
import pytest
from astropy.io.votable import parse_single_table

from jmmctap.db.cluster import EmbeddedCluster
from jmmctap.db.connect import conninfos
from jmmctap.settings import Settings
from tests.conftest import FAST_CLUSTER_OPTIONS, clean_env, free_port, server_output, spawn_server, stop_server
from tests.support.cluster import private_cluster

POOL_SIZE = 4
"""Active query slots of the server under test (small, so that few stalled clients would fill it)."""

STALLED_READERS = 16
STALL_DURATION_S = 60.0
"""How long the stalled readers stay while normal clients work (issue 13: 8–16 readers for 60 s)."""

NORMAL_CLIENTS = 4

BIG_RESULT = "SELECT a.n, b.label FROM testdata.numbers AS a, testdata.numbers AS b"
"""400 million rows that stream at once (no sort, no materialised function scan)."""


@dataclass(frozen=True)
class Service:
    settings: Settings
    base: str
    process: Any

    def health(self) -> dict[str, Any]:
        response = httpx.get(self.base.removesuffix("/tap") + "/health", timeout=10)
        return dict(response.json())

    def query_backends(self) -> list[tuple[str, str]]:
        """(state, query) of every backend of this server's query pool (its application_name ends in its pid)."""
        with psycopg.connect(conninfos(self.settings).admin, autocommit=True) as conn:  # sees every backend
            rows = conn.execute("SELECT state, query FROM pg_stat_activity WHERE usename = %s"
                                " AND application_name LIKE %s",
                                [self.settings.query_role, f"jmmctap query %:{self.process.pid}"]).fetchall()
        return [(str(state), str(query)) for state, query in rows]


@pytest.fixture(scope="module")
def cluster_settings() -> Iterator[Settings]:
    with private_cluster("jmmctap-resilience-", FAST_CLUSTER_OPTIONS, port=free_port()) as settings:
        yield settings


def _start(settings: Settings, **env: str) -> Service:
    port = free_port()
    variables = {"JMMCTAP_HOME": str(settings.home), "JMMCTAP_POOL_SIZE": str(POOL_SIZE),
                 "JMMCTAP_QUEUE_WAIT_S": "30", "JMMCTAP_QUERY_TIMEOUT_S": "2", **env}
    process = spawn_server(clean_env(**variables), port)
    return Service(settings, f"http://127.0.0.1:{port}/tap", process)


@pytest.fixture(scope="module")
def service(cluster_settings: Settings) -> Iterator[Service]:
    running = _start(cluster_settings, JMMCTAP_SEND_TIMEOUT_S="600")
    try:
        yield running
    finally:
        stop_server(running.process)


def _sync(base: str, query: str, **params: str) -> httpx.Response:
    return httpx.post(f"{base}/sync", data={"LANG": "ADQL", "QUERY": query, **params}, timeout=60)


def _assert_pool_settles(service: Service) -> None:
    """Every connection back: none lent, and each query-role backend idle, within a bounded wait."""
    deadline = time.monotonic() + 30
    while True:
        pool = service.health()["query_pool"]
        backends = service.query_backends()
        busy = [b for b in backends if b[0] != "idle"]
        if pool["in_use"] == 0 and not busy and len(backends) == pool["size"]:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"connections not given back: pool {pool}, backends {backends}")
        time.sleep(0.2)


def _wait_for(condition: Callable[[], bool], what: str, detail: Callable[[], str] = str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for: {what}{detail()}")
        time.sleep(0.2)


def _stall(base: str, query: str) -> socket.socket:
    """A client that asks for a large result and never reads it (a 1 kB receive buffer)."""
    host, port = base.removeprefix("http://").removesuffix("/tap").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    sock.connect((host, int(port)))
    body = urlencode({"LANG": "ADQL", "QUERY": query, "MAXREC": "-1", "RESPONSEFORMAT": "votable/td"}).encode()
    sock.sendall(b"POST /tap/sync HTTP/1.1\r\nHost: " + host.encode() + b"\r\nContent-Type: "
                 b"application/x-www-form-urlencoded\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
                 + body)
    return sock


FAILING: list[tuple[str, dict[str, str], int]] = [
    ("syntax error", {"QUERY": "SELEC n FROM testdata.numbers"}, 400),
    ("unknown table", {"QUERY": "SELECT n FROM testdata.nothing"}, 400),
    ("unknown column", {"QUERY": "SELECT nothing FROM testdata.numbers"}, 400),
    ("error in the first rows", {"QUERY": "SELECT TOP 5 1 / (n - n) FROM testdata.numbers"}, 400),
    ("statement timeout", {"QUERY": "SELECT COUNT(*) FROM testdata.numbers AS a, testdata.numbers AS b"
                                    " WHERE a.label < b.label"}, 400),
    ("unknown format", {"QUERY": "SELECT TOP 1 n FROM testdata.numbers", "RESPONSEFORMAT": "x/y"}, 400),
    ("bad MAXREC", {"QUERY": "SELECT TOP 1 n FROM testdata.numbers", "MAXREC": "many"}, 400),
    ("missing upload", {"QUERY": "SELECT * FROM TAP_UPLOAD.t", "UPLOAD": "t,param:absent"}, 400),
]


def test_failing_requests_of_every_kind_give_every_connection_back(service: Service) -> None:
    failures = 0
    while failures < 100:
        for name, params, status in FAILING:
            response = httpx.post(f"{service.base}/sync", data={"LANG": "ADQL", **params}, timeout=60)
            assert response.status_code == status, (name, response.text)
            failures += 1
        # an error after streaming began: the document ends with QUERY_STATUS=ERROR
        late = _sync(service.base, "SELECT 1 / (20000 - n) FROM testdata.numbers", RESPONSEFORMAT="votable/td",
                     MAXREC="30000")
        assert late.status_code == 200 and 'value="ERROR"' in late.text[-2000:]
        # a client that goes away in the middle of a large result
        with httpx.stream("POST", f"{service.base}/sync", timeout=60, data={
                "LANG": "ADQL", "QUERY": BIG_RESULT, "MAXREC": "-1"}) as stream:
            next(stream.iter_bytes())
        cone = httpx.get(service.base.removesuffix("/tap") + "/scs/obsportal", params={"RA": "x"}, timeout=10)
        assert cone.status_code == 200 and "Error" in cone.text
        failures += 3
    _assert_pool_settles(service)
    answer = _sync(service.base, "SELECT TOP 3 n FROM testdata.numbers ORDER BY n", RESPONSEFORMAT="csv")
    assert answer.status_code == 200 and answer.text.split() == ["n", "1", "2", "3"]


def test_clients_that_stop_reading_lock_nobody_out(service: Service) -> None:
    stalled = [_stall(service.base, BIG_RESULT) for _ in range(STALLED_READERS)]
    _wait_for(lambda: service.health()["query_pool"]["slow"] == STALLED_READERS, "stalled readers set aside",
              lambda: f" {service.health()['query_pool']}: {server_output(service.process)[-3000:]}")
    errors: list[str] = []
    durations: list[float] = []
    available: list[bool] = []
    deadline = time.monotonic() + STALL_DURATION_S

    def work(seed: int) -> None:
        with httpx.Client(timeout=30) as http:
            n = seed
            while time.monotonic() < deadline:
                n = (n * 7919 + 17) % 19_000
                began = time.monotonic()
                try:
                    response = http.post(f"{service.base}/sync", data={
                        "LANG": "ADQL", "QUERY": f"SELECT TOP 10 n, label FROM testdata.numbers WHERE n > {n}"
                                                 " ORDER BY n"})
                    if response.status_code != 200:
                        errors.append(f"{response.status_code}: {response.text[:300]}")
                        continue
                    table = parse_single_table(io.BytesIO(response.content)).to_table()
                    if list(table["n"]) != list(range(n + 1, n + 11)):
                        errors.append(f"wrong rows after {n}")
                    durations.append(time.monotonic() - began)
                    status = http.get(f"{service.base}/availability")
                    available.append(status.status_code == 200 and "<vosi:available>true" in status.text)
                except httpx.HTTPError as exc:
                    errors.append(repr(exc))

    try:
        threads = [threading.Thread(target=work, args=(seed,)) for seed in range(NORMAL_CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        pool = service.health()["query_pool"]
    finally:
        for sock in stalled:
            sock.close()
    assert errors == [], server_output(service.process)[-4000:]
    assert durations and all(available)
    assert pool["slow"] > 0  # the stalled responses were really set aside, still open
    p95 = statistics.quantiles(durations, n=20)[-1]
    print(f"{len(durations)} queries beside {STALLED_READERS} stalled readers: p95 {p95:.3f} s")
    _assert_pool_settles(service)


def test_a_stalled_response_is_ended_after_the_send_timeout(cluster_settings: Settings) -> None:
    quick = _start(cluster_settings, JMMCTAP_SEND_TIMEOUT_S="2")
    try:
        sock = _stall(quick.base, BIG_RESULT)
        try:
            _wait_for(lambda: quick.health()["query_pool"]["slow"] == 1, "the stalled reader set aside")
            _assert_pool_settles(quick)  # the socket is still open: only the timeout can free it
        finally:
            sock.close()
        assert "read nothing for" in server_output(quick.process), server_output(quick.process)
    finally:
        stop_server(quick.process)


def test_database_outage_is_503_with_retry_after_and_the_first_query_after_it_works(
    service: Service, cluster_settings: Settings
) -> None:
    cluster = EmbeddedCluster.from_settings(cluster_settings)
    root = service.base.removesuffix("/tap")
    assert _sync(service.base, "SELECT TOP 1 n FROM testdata.numbers").status_code == 200
    cluster.stop()
    try:
        answers = {
            "sync": _sync(service.base, "SELECT TOP 1 n FROM testdata.numbers"),
            "async create": httpx.post(f"{service.base}/async", data={"LANG": "ADQL", "QUERY": "SELECT 1"},
                                       timeout=60),
            # (an anonymous job list is empty without asking the database: ask for a job instead)
            "async job": httpx.get(f"{service.base}/async/AAAAAAAAAAAAAAAAAAAAAA", timeout=60),
            "cone search": httpx.get(f"{root}/scs/jsdc", params={"RA": "10", "DEC": "10", "SR": "1"}, timeout=60),
        }
        for name, response in answers.items():
            assert response.status_code == 503, (name, response.status_code, response.text[:500])
            assert int(response.headers["retry-after"]) > 0, name
        availability = httpx.get(f"{service.base}/availability", timeout=30)
        assert "<vosi:available>false" in availability.text
        assert httpx.get(f"{root}/health/ready", timeout=30).status_code == 503  # a load balancer looks elsewhere
        assert httpx.get(f"{root}/health/live", timeout=30).status_code == 200  # but does not restart it
    finally:
        cluster.start(FAST_CLUSTER_OPTIONS)
    first = _sync(service.base, "SELECT TOP 2 n FROM testdata.numbers ORDER BY n", RESPONSEFORMAT="csv")
    assert first.status_code == 200, first.text + server_output(service.process)[-6000:]
    assert first.text.split() == ["n", "1", "2"]
    assert httpx.get(f"{root}/health/ready", timeout=30).status_code == 200


def test_every_pooled_connection_survives_a_database_restart(service: Service, cluster_settings: Settings) -> None:
    """Restart with idle pooled connections: none of them fails a user query (57P01) afterwards."""
    cluster = EmbeddedCluster.from_settings(cluster_settings)
    for _ in range(POOL_SIZE):  # fill the pool with connections that the restart will kill
        assert _sync(service.base, "SELECT TOP 1 n FROM testdata.numbers").status_code == 200
    cluster.stop()
    cluster.start(FAST_CLUSTER_OPTIONS)
    statuses = [_sync(service.base, f"SELECT TOP 1 n FROM testdata.numbers WHERE n > {i}").status_code
                for i in range(3 * POOL_SIZE)]
    assert statuses == [200] * (3 * POOL_SIZE), server_output(service.process)[-3000:]


