"""Time a large sync result at each JMMCTAP_GZIP_LEVEL: wall time, server CPU, bytes on the wire.

One ``jmmctap serve`` per level runs on the database of ``JMMCTAP_HOME`` (``bench/generate_tables.py``
first); downloads go round-robin over the levels, ``--repeat`` times, through ``http.client`` (no
decompression on the client: the bytes counted are the bytes on the wire). Level 0 is the uncompressed
floor. Besides the loopback time, the time on a link of a given speed is estimated as
``max(loopback time, wire bytes / link speed)``: the server streams, so the slower of the two bounds it.

    JMMCTAP_HOME=/tmp/bench .venv/bin/python bench/gzip_levels.py --repeat 5
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

LINKS_MBIT = (100, 1000)
"""Link speeds of the estimate, Mbit/s: a remote user, a data centre network."""

_CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Runs:
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    wire: int = 0
    encoding: str = ""


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (``/proc/<pid>/stat`` fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def start_server(port: int, level: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "JMMCTAP_GZIP_LEVEL": str(level), "JMMCTAP_ASYNC_WORKERS": "0",
           "JMMCTAP_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([sys.executable, "-m", "jmmctap.cli", "serve", "--host", "127.0.0.1",
                                "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"server of level {level} did not start")


def download(port: int, query: str, fmt: str, maxrec: int) -> tuple[float, int, str]:
    """Seconds, bytes on the wire and Content-Encoding of one sync result read to its end."""
    body = urllib.parse.urlencode({"LANG": "ADQL", "QUERY": query, "FORMAT": fmt, "MAXREC": str(maxrec)})
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    connection.request("POST", "/tap/sync", body, {"Content-Type": "application/x-www-form-urlencoded",
                                                   "Accept-Encoding": "gzip"})
    response = connection.getresponse()
    if response.status != 200:
        raise SystemExit(f"HTTP {response.status}: {response.read()[:500]!r}")
    wire = 0
    while chunk := response.read(1 << 20):
        wire += len(chunk)
    connection.close()
    return time.perf_counter() - started, wire, response.getheader("Content-Encoding") or "identity"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default="0,1,2,3,4,6,9")
    parser.add_argument("--format", default="votable/b2")
    parser.add_argument("--query", default="SELECT * FROM bench.obslog")
    parser.add_argument("--maxrec", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--first-port", type=int, default=8850)
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    servers = {level: start_server(args.first_port + i, level) for i, level in enumerate(levels)}
    ports = {level: args.first_port + i for i, level in enumerate(levels)}
    runs = {level: Runs() for level in levels}
    try:
        for _ in range(args.repeat):
            for level in levels:
                pid = servers[level].pid
                cpu_before = cpu_seconds(pid)
                wall, wire, encoding = download(ports[level], args.query, args.format, args.maxrec)
                runs[level].walls.append(wall)
                runs[level].cpus.append(cpu_seconds(pid) - cpu_before)
                runs[level].wire, runs[level].encoding = wire, encoding
    finally:
        for process in servers.values():
            process.terminate()
            process.wait()
    floor = runs[levels[0]]
    floor_wall = statistics.median(floor.walls)
    print(f"{args.format}, {args.query!r}, median of {args.repeat}, load average {os.getloadavg()[0]:.2f}")
    links = "".join(f" | at {mbit} Mbit/s" for mbit in LINKS_MBIT)
    print(f"| level | coding | wire MB | ratio | loopback s | vs floor | server CPU s{links} |")
    print("| --- " * (7 + len(LINKS_MBIT)) + "|")
    for level in levels:
        run = runs[level]
        wall, cpu = statistics.median(run.walls), statistics.median(run.cpus)
        estimates = "".join(f" | {max(wall, run.wire * 8 / (mbit * 1e6)):.2f} s" for mbit in LINKS_MBIT)
        print(f"| {level} | {run.encoding} | {run.wire / 1e6:.1f} | {floor.wire / run.wire:.2f} | {wall:.2f} "
              f"| {wall / floor_wall:.2f}x | {cpu:.2f}{estimates} |")


if __name__ == "__main__":
    main()
