"""Crossmatch through TAP against the same join written by hand in SQL (the floor), in one run.

Needs the tables of ``generate_tables.py`` (bench.obslog with its id and positional indexes, and
bench.stars). Three measures, each a median over ``--repeat`` windows, interleaved with its floor:

(a) 1000 observations (a window on ``exp_id``) × stars within 5″, written with CONTAINS;
(b) the same written with DISTANCE(...) < r;
(c) an upload of 1000 positions (VOTable, TAP UPLOAD) joined with the stars.

The floor runs the best pgsphere plan over psycopg on a connection already open: the stars'
index probed once per observation (``spoint(star) <@ scircle(spoint(obs), r)``), every row fetched
with a binary cursor; for (c) it also creates and fills the temporary table of positions.
"""

from __future__ import annotations

import argparse
import http.client
import io
import statistics
import time
import urllib.parse

import numpy as np
import psycopg
from astropy.table import Table

from jmmctap.db.connect import conninfos
from jmmctap.settings import Settings

RADIUS_DEG = 5 / 3600
WINDOW = 1000
_COLUMNS = "e.exp_id, e.target_name, e.ra, e.dec, j.id, j.vmag, j.ldd"

CONTAINS_ADQL = (f"SELECT {_COLUMNS} FROM bench.obslog AS e JOIN bench.stars AS j"
                 f" ON 1 = CONTAINS(POINT(e.ra, e.dec), CIRCLE(j.ra, j.dec, 5. / 3600.))"
                 " WHERE e.exp_id BETWEEN {low} AND {high}")
DISTANCE_ADQL = (f"SELECT {_COLUMNS} FROM bench.obslog AS e JOIN bench.stars AS j"
                 f" ON DISTANCE(POINT(e.ra, e.dec), POINT(j.ra, j.dec)) < 5. / 3600."
                 " WHERE e.exp_id BETWEEN {low} AND {high}")
FLOOR_SQL = (f"SELECT {_COLUMNS} FROM bench.obslog AS e JOIN bench.stars AS j"
             " ON spoint(radians(j.ra), radians(j.dec)) <@ scircle(spoint(radians(e.ra), radians(e.dec)), %(r)s)"
             " WHERE e.exp_id BETWEEN %(low)s AND %(high)s")
UPLOAD_ADQL = ("SELECT u.n, u.ra, u.dec, j.id, j.vmag, j.ldd FROM TAP_UPLOAD.pos AS u JOIN bench.stars AS j"
               " ON 1 = CONTAINS(POINT(j.ra, j.dec), CIRCLE(u.ra, u.dec, 5. / 3600.))")
UPLOAD_FLOOR_SQL = ("SELECT u.n, u.ra, u.dec, j.id, j.vmag, j.ldd FROM pos AS u JOIN bench.stars AS j"
                    " ON spoint(radians(j.ra), radians(j.dec))"
                    " <@ scircle(spoint(radians(u.ra), radians(u.dec)), %(r)s)")


def _windows(repeat: int, rows: int) -> list[int]:
    """Window starts spread over the table (the same for the service and the floor)."""
    rng = np.random.default_rng(14)
    return [int(x) for x in rng.integers(1, rows - WINDOW, size=repeat)]


class _Client:
    """A lean keep-alive HTTP client (``http.client``): its own cost stays out of the ratio, as psycopg's
    does in the floor (httpx adds about 1 ms per request on this machine)."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.path = parts.path
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=120)

    def sync(self, query: str, upload: tuple[str, bytes] | None = None) -> float:
        fields = {"LANG": "ADQL", "QUERY": query, "FORMAT": "votable"}
        if upload is None:
            body = urllib.parse.urlencode(fields).encode()
            content_type = "application/x-www-form-urlencoded"
        else:
            fields["UPLOAD"] = f"{upload[0]},param:{upload[0]}"
            body, content_type = _multipart(fields, upload)
        started = time.perf_counter()
        self.conn.request("POST", f"{self.path}/sync", body, {"Content-Type": content_type})
        response = self.conn.getresponse()
        content = response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {content[:300]!r}")
        return elapsed


def _multipart(fields: dict[str, str], upload: tuple[str, bytes]) -> tuple[bytes, str]:
    boundary = "jmmctapbenchboundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{upload[0]}"; filename="{upload[0]}.xml"'
                 "\r\nContent-Type: application/x-votable+xml\r\n\r\n".encode() + upload[1] + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _floor(conn: psycopg.Connection[tuple[object, ...]], sql: str, params: dict[str, object]) -> tuple[float, int]:
    started = time.perf_counter()
    with conn.transaction(), conn.cursor(name="floor", binary=True) as cur:
        cur.execute(sql, params)  # type: ignore[arg-type]  # constant text of this script
        n = len(cur.fetchall())
    return time.perf_counter() - started, n


def _upload_floor(conn: psycopg.Connection[tuple[object, ...]], positions: np.ndarray) -> tuple[float, int]:
    started = time.perf_counter()
    with conn.transaction():
        conn.execute("CREATE TEMP TABLE pos (n integer, ra double precision, dec double precision) ON COMMIT DROP")
        with conn.cursor().copy("COPY pos FROM STDIN") as copy:
            for i, (ra, dec) in enumerate(positions):
                copy.write_row((i, float(ra), float(dec)))
        conn.execute("ANALYZE pos")
        with conn.cursor(name="floor", binary=True) as cur:
            cur.execute(UPLOAD_FLOOR_SQL, {"r": np.radians(RADIUS_DEG)})  # type: ignore[arg-type]
            n = len(cur.fetchall())
    return time.perf_counter() - started, n


def _positions(conn: psycopg.Connection[tuple[object, ...]], start: int) -> np.ndarray:
    """1000 star positions, each moved by up to 3″, so most match one star."""
    rows = conn.execute("SELECT ra, dec FROM bench.stars WHERE id BETWEEN %s AND %s",
                        [start, start + WINDOW - 1]).fetchall()
    rng = np.random.default_rng(start)
    positions = np.array(rows, dtype=float)
    positions += rng.uniform(-3, 3, positions.shape) / 3600 / np.sqrt(2)
    return positions


def _votable(positions: np.ndarray) -> bytes:
    table = Table([np.arange(len(positions), dtype=np.int32), positions[:, 0], positions[:, 1]],
                  names=("n", "ra", "dec"))
    out = io.BytesIO()
    table.write(out, format="votable")
    return out.getvalue()


def _ratio(label: str, service: list[float], floor: list[float], rows: int) -> None:
    s, f = statistics.median(service), statistics.median(floor)
    print(f"| {label} | {rows} | {f * 1000:.1f} ms | {s * 1000:.1f} ms | {s / f:.2f}× |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8000/tap")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    settings = Settings.from_env()
    radians = float(np.radians(RADIUS_DEG))
    client = _Client(args.url)
    with psycopg.connect(conninfos(settings).owner, autocommit=True) as conn:
        n_obs = int(conn.execute("SELECT count(*) FROM bench.obslog").fetchone()[0])  # type: ignore[index]
        starts = _windows(args.repeat, n_obs)
        print("| query | rows | floor (psycopg, hand SQL) | jmmctap | ratio |\n| --- | --- | --- | --- | --- |")
        for label, adql in (("crossmatch, CONTAINS", CONTAINS_ADQL), ("crossmatch, DISTANCE < r", DISTANCE_ADQL)):
            service, floor, rows = [], [], 0
            for start in [starts[0], *starts]:  # the first run warms caches, both sides
                params = {"low": start, "high": start + WINDOW - 1}
                f, rows = _floor(conn, FLOOR_SQL, {**params, "r": radians})
                s = client.sync(adql.format(**params))
                floor.append(f)
                service.append(s)
            _ratio(label, service[1:], floor[1:], rows)
        service, floor, rows = [], [], 0
        for start in [starts[0], *starts]:
            positions = _positions(conn, start)
            f, rows = _upload_floor(conn, positions)
            s = client.sync(UPLOAD_ADQL, ("pos", _votable(positions)))
            floor.append(f)
            service.append(s)
        _ratio("upload of 1000 positions × stars", service[1:], floor[1:], rows)


if __name__ == "__main__":
    main()
