"""Time the TAP service against the plain psycopg fetch of the same rows (the floor), in one run.

(a) full download of bench.obslog (300k rows; --table bench.exposures: issue 14's) as BINARY2, TABLEDATA and CSV;
(b) small cone searches on bench.stars (median, p95);
(c) requests/s of cone searches with 4 and 16 concurrent clients (bounded duration, loopback only);
(d) the floor: a psycopg binary server-side cursor reading the same 300k rows;
(e) with --server-pid: the server's peak RSS while streaming the 10-million-row bench.series.
"""

from __future__ import annotations

import argparse
import random
import statistics
import threading
import time
from pathlib import Path

import httpx
import psycopg

from jmmctap.db.connect import conninfos
from jmmctap.settings import Settings

CONE_QUERY = ("SELECT id, ra, dec, vmag, ldd FROM bench.stars WHERE "
              "1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', {ra:.5f}, {dec:.5f}, 0.1))")


def fetch_floor(settings: Settings, table: str) -> tuple[float, int]:
    """Seconds for psycopg alone to read all of ``table`` through a binary server-side cursor."""
    with psycopg.connect(conninfos(settings).owner) as conn:
        started = time.perf_counter()
        n = 0
        with conn.cursor(name="floor", binary=True) as cur:
            cur.execute(psycopg.sql.SQL("SELECT * FROM {}").format(psycopg.sql.Identifier(*table.split("."))))
            while rows := cur.fetchmany(5000):
                n += len(rows)
        return time.perf_counter() - started, n


def download(url: str, fmt: str, query: str, maxrec: int) -> tuple[float, int]:
    started = time.perf_counter()
    size = 0
    # identity: these figures are of the serializers (gzip costs are bench/gzip_levels.py's)
    with httpx.stream("POST", f"{url}/sync", data={"LANG": "ADQL", "QUERY": query, "FORMAT": fmt,
                                                   "MAXREC": str(maxrec)}, headers={"Accept-Encoding": "identity"},
                      timeout=600) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes(1 << 20):
            size += len(chunk)
    return time.perf_counter() - started, size


def cone(client: httpx.Client, url: str, rng: random.Random) -> float:
    query = CONE_QUERY.format(ra=rng.uniform(0, 360), dec=rng.uniform(-80, 80))
    started = time.perf_counter()
    response = client.post(f"{url}/sync", data={"LANG": "ADQL", "QUERY": query, "FORMAT": "votable/b2"})
    response.raise_for_status()
    return time.perf_counter() - started


def concurrent(url: str, clients: int, seconds: float) -> tuple[float, int, int]:
    """Requests per second and error count for ``clients`` threads looping for ``seconds``."""
    done, errors = [0], [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def loop(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(timeout=30) as client:
            while time.monotonic() < deadline:
                try:
                    cone(client, url, rng)
                    ok = True
                except httpx.HTTPError:
                    ok = False
                with lock:
                    done[0] += ok
                    errors[0] += not ok

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0] / (time.perf_counter() - started), done[0], errors[0]


def peak_rss_while(url: str, pid: int) -> tuple[float, float, int]:
    """Stream bench.series (10M rows) and sample the server's RSS; returns (seconds, peak MB, bytes)."""
    status = Path(f"/proc/{pid}/status")
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    peak[0] = max(peak[0], int(line.split()[1]))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        seconds, size = download(url, "votable/b2", "SELECT * FROM bench.series", 10_000_000)
    finally:
        stop.set()
        sampler.join()
    return seconds, peak[0] / 1024, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8000/tap")
    parser.add_argument("--cones", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=15, help="duration of each concurrency run")
    parser.add_argument("--repeat", type=int, default=5, help="runs of the floor and of each download")
    parser.add_argument("--server-pid", type=int, help="PID of the jmmctap server, to measure its RSS")
    parser.add_argument("--table", default="bench.obslog", help="the table of the full downloads (a)")
    parser.add_argument("--downloads-only", action="store_true", help="(a) and (d) only")
    args = parser.parse_args()
    settings = Settings.from_env()

    # Floor and downloads interleaved and repeated: the medians resist the machine's noise.
    floors: list[float] = []
    runs: dict[str, list[float]] = {fmt: [] for fmt in ("votable/b2", "votable/td", "csv")}
    sizes: dict[str, int] = {}
    for _ in range(args.repeat):
        seconds, n = fetch_floor(settings, args.table)
        floors.append(seconds)
        for fmt in runs:
            seconds, sizes[fmt] = download(args.url, fmt, f"SELECT * FROM {args.table}", n)
            runs[fmt].append(seconds)
    floor = statistics.median(floors)
    print(f"(d) fetch floor: {n} rows in {floor:.3f} s (psycopg binary server-side cursor; median of"
          f" {args.repeat})")
    for fmt, times in runs.items():
        seconds = statistics.median(times)
        print(f"(a) {fmt:11s} {seconds:.3f} s, {sizes[fmt] / 1e6:.1f} MB, {seconds / floor:.2f}x floor")
    if args.downloads_only:
        return
    rng = random.Random(1)
    with httpx.Client(timeout=30) as client:
        cone(client, args.url, rng)  # warm-up
        times = sorted(cone(client, args.url, rng) for _ in range(args.cones))
    median, p95 = statistics.median(times), times[int(0.95 * len(times)) - 1]
    print(f"(b) cone search: median {median * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms over {len(times)}"
          f" ({median / floor * 100:.1f}% / {p95 / floor * 100:.1f}% of the floor)")
    for clients in (4, 16):
        rate, total, errors = concurrent(args.url, clients, args.seconds)
        print(f"(c) {clients:2d} clients: {rate:.0f} requests/s ({total} done, {errors} errors);"
              f" one request = {1 / rate / floor * 100 * clients:.1f}% of the floor per client")
    if args.server_pid:
        seconds, peak_mb, size = peak_rss_while(args.url, args.server_pid)
        print(f"(e) 10M rows BINARY2: {seconds:.1f} s, {size / 1e9:.2f} GB, server peak RSS {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
