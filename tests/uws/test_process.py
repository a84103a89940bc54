"""``jmmctap worker`` runs the jobs of a ``serve`` that runs none: processes share jobs through the database."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import httpx
import pytest

from jmmctap.settings import Settings
from tests.conftest import free_port, server_env, spawn_server, stop_server

pytestmark = pytest.mark.slow


def _phase(url: str) -> str:
    return httpx.get(url + "/phase").text


def test_a_worker_process_runs_the_jobs_of_a_server_without_workers(uws_settings: Settings) -> None:
    # a private cluster: on the shared one the live server's workers would run the job
    env = {**server_env(uws_settings), "JMMCTAP_ASYNC_WORKERS": "0"}
    port = free_port()
    server = spawn_server(env, port)
    worker = None
    try:
        response = httpx.post(f"http://127.0.0.1:{port}/tap/async",
                              data={"LANG": "ADQL", "QUERY": "SELECT TOP 2 n FROM testdata.numbers", "PHASE": "RUN"})
        url = response.headers["location"]
        time.sleep(0.5)
        assert _phase(url) == "QUEUED"  # nobody runs jobs yet
        worker = subprocess.Popen([sys.executable, "-m", "jmmctap.cli", "worker", "--workers", "2"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while _phase(url) != "COMPLETED":
            assert time.monotonic() < deadline, "the worker process did not run the job"
            httpx.get(url, params={"WAIT": "5"}, timeout=10)
        assert httpx.get(url + "/results/result").status_code == 200
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=15) == 0
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
            worker.wait()
        if worker is not None and worker.stdout:
            worker.stdout.close()
        stop_server(server)
