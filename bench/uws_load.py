"""Load test of /tap/async: N clients create, run, wait for, fetch and delete small jobs for a fixed time.

Each client loops: ``POST /async`` (``PHASE=RUN``) → blocking ``GET job?WAIT=60`` until a final phase →
``GET results/result`` → ``DELETE``. Reported: jobs/s; the median and 95th percentile of the server's
``endTime - creationTime`` (create → COMPLETED) and of the client's create → result-in-hand time; and how
long after ``endTime`` the blocking WAIT returned (the wake-up latency of LISTEN/NOTIFY). Every created job
must end COMPLETED exactly once: the script fails when one is lost, duplicated or not COMPLETED.

    .venv/bin/python bench/uws_load.py --url http://127.0.0.1:8000/tap          # a running server
    .venv/bin/python bench/uws_load.py                                          # spawns one (temporary home)

Times come from one clock: client and server run on the same host (loopback).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime

import httpx
from lxml import etree

UWS = "{http://www.ivoa.net/xml/UWS/v1.0}"
QUERY = "SELECT TOP 5 table_name, table_type FROM TAP_SCHEMA.tables ORDER BY table_name"
FINAL = {"COMPLETED", "ERROR", "ABORTED"}


@dataclass
class Sample:
    job_id: str
    phase: str
    server_latency_s: float
    client_latency_s: float
    wait_return_s: float


def _instant(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def one_job(client: httpx.AsyncClient, base: str) -> Sample:
    started = time.time()
    response = await client.post(f"{base}/async", data={"LANG": "ADQL", "QUERY": QUERY, "PHASE": "RUN"})
    if response.status_code != 303:
        raise RuntimeError(f"create: HTTP {response.status_code}: {response.text[:200]}")
    url = response.headers["location"]
    while True:
        response = await client.get(url, params={"WAIT": "60"})
        returned = time.time()
        job = etree.fromstring(response.content)
        phase = job.findtext(f"{UWS}phase")
        if phase in FINAL:
            break
    if phase == "COMPLETED":
        result = await client.get(f"{url}/results/result")
        if result.status_code != 200 or b"QUERY_STATUS" not in result.content:
            raise RuntimeError(f"result: HTTP {result.status_code}")
    finished = time.time()
    deleted = await client.delete(url)
    if deleted.status_code != 303:
        raise RuntimeError(f"delete: HTTP {deleted.status_code}")
    created, ended = _instant(job.findtext(f"{UWS}creationTime")), _instant(job.findtext(f"{UWS}endTime"))
    return Sample(job.findtext(f"{UWS}jobId") or "", phase or "", ended - created, finished - started,
                  returned - ended)


async def client_loop(base: str, deadline: float, samples: list[Sample], errors: list[str]) -> None:
    async with httpx.AsyncClient(timeout=120) as client:
        while time.monotonic() < deadline:
            try:
                samples.append(await one_job(client, base))
            except Exception as exc:  # recorded and reported: a bench never hides a failure
                errors.append(str(exc))


def _ms(values: list[float], q: float) -> str:
    ordered = sorted(values)
    return f"{1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]:.1f} ms"


async def run(base: str, clients: int, seconds: float) -> int:
    async with httpx.AsyncClient() as warm:  # one job first: connections, caches
        await one_job(warm, base)
    samples: list[Sample] = []
    errors: list[str] = []
    started = time.monotonic()
    await asyncio.gather(*(client_loop(base, started + seconds, samples, errors) for _ in range(clients)))
    elapsed = time.monotonic() - started
    ids = [s.job_id for s in samples]
    not_completed = [s for s in samples if s.phase != "COMPLETED"]
    print(f"{clients} clients, {elapsed:.1f} s: {len(samples)} jobs, {len(samples) / elapsed:.1f} jobs/s")
    if samples:
        server = [s.server_latency_s for s in samples]
        client = [s.client_latency_s for s in samples]
        wake = [s.wait_return_s for s in samples]
        print(f"create → COMPLETED (server endTime - creationTime): median {_ms(server, 0.5)},"
              f" p95 {_ms(server, 0.95)}")
        print(f"create → result fetched (client): median {_ms(client, 0.5)}, p95 {_ms(client, 0.95)}")
        print(f"blocking WAIT returned after endTime: median {_ms(wake, 0.5)}, p95 {_ms(wake, 0.95)},"
              f" max {max(wake) * 1000:.1f} ms")
        print(f"mean server latency {statistics.mean(server) * 1000:.1f} ms")
    problems = []
    if errors:
        problems.append(f"{len(errors)} request errors, first: {errors[0]}")
    if len(set(ids)) != len(ids):
        problems.append("a job id was seen twice")
    if not_completed:
        problems.append(f"{len(not_completed)} jobs not COMPLETED (e.g. {not_completed[0].phase})")
    for problem in problems:
        print("FAILED:", problem)
    return 1 if problems else 0


def _spawn(home: str, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JMMCTAP_")}
    env["JMMCTAP_HOME"] = home
    process = subprocess.Popen([sys.executable, "-m", "jmmctap.cli", "serve", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="TAP base URL of a running server (default: spawn one on a temporary home)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    if args.url:
        return asyncio.run(run(args.url.rstrip("/"), args.clients, args.seconds))
    home = tempfile.mkdtemp(prefix="jmmctap-uws-bench-")
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = _spawn(home, port)
    try:
        return asyncio.run(run(f"http://127.0.0.1:{port}/tap", args.clients, args.seconds))
    finally:
        process.terminate()
        process.wait(timeout=30)
        subprocess.run([sys.executable, "-m", "jmmctap.cli", "db", "stop"], env={**os.environ, "JMMCTAP_HOME": home},
                       check=False, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
