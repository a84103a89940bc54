"""Crossmatch through TAP against the same join written by hand in SQL (the floor), in one run.

The data of issue 14: the JSDC (``jsdc_generate.py``: 500,000 stars, 98 columns) and
``bench.xmatch_exposures``, 300,000 exposures with the columns of ``obsportal.exposures``, each pointed at a
JSDC star (up to 3″ off), their header ids in random sky order (``--setup`` creates and publishes it).
Three measures, each a median over ``--repeat`` windows, interleaved with its floor:

(a) 1000 exposures (a window on ``exp_header_id``) × JSDC stars within 5″, written with CONTAINS;
(b) the same written with DISTANCE(...) < r;
(c) an upload of 1000 positions (VOTable TABLEDATA, as pyvo sends) joined with the JSDC.

The floor runs the best pgsphere plan over psycopg on a connection already open: the JSDC index
probed once per exposure (``spoint(star) <@ scircle(spoint(exposure), r)``), every row fetched
with a binary cursor; for (c) it also creates, fills and ANALYZEs the temporary table of positions.

    JMMCTAP_HOME=… .venv/bin/python bench/jsdc_generate.py --stars 500000
    JMMCTAP_HOME=… .venv/bin/python bench/crossmatch.py --setup --url http://127.0.0.1:8000/tap
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
from jmmctap.tapschema import Column, Schema
from jmmctap.tapschema import Table as TapTable
from jmmctap.tapschema.publish import publish_schema, publish_table, refresh_row_counts

RADIUS_DEG = 5 / 3600
WINDOW = 1000
EXPOSURES = 300_000
_COLUMNS = ('e.exp_id, e.target_name, e.target_ra, e.target_dec, e.exp_mjd_start, e.instrument_name,'
            ' j.Name, j.SpType, j.Vmag, j.Kmag, j.LDD, j.e_LDD, j.CalFlag')
_SQL_COLUMNS = ('e.exp_id, e.target_name, e.target_ra, e.target_dec, e.exp_mjd_start, e.instrument_name,'
                ' j."Name", j."SpType", j."Vmag", j."Kmag", j."LDD", j."e_LDD", j."CalFlag"')
_WINDOW = " WHERE e.exp_header_id BETWEEN {low} AND {high}"

CONTAINS_ADQL = (f"SELECT {_COLUMNS} FROM bench.xmatch_exposures AS e JOIN jsdc.jsdc_v2 AS j"
                 " ON 1 = CONTAINS(POINT(e.target_ra, e.target_dec), CIRCLE(j.RAJ2000, j.DEJ2000, 5. / 3600.))"
                 + _WINDOW)
DISTANCE_ADQL = (f"SELECT {_COLUMNS} FROM bench.xmatch_exposures AS e JOIN jsdc.jsdc_v2 AS j"
                 " ON DISTANCE(POINT(e.target_ra, e.target_dec), POINT(j.RAJ2000, j.DEJ2000)) < 5. / 3600."
                 + _WINDOW)
FLOOR_SQL = (f"SELECT {_SQL_COLUMNS} FROM bench.xmatch_exposures AS e JOIN jsdc.jsdc_v2 AS j"
             ' ON spoint(radians(j."RAJ2000"), radians(j."DEJ2000"))'
             " <@ scircle(spoint(radians(e.target_ra), radians(e.target_dec)), %(r)s)"
             " WHERE e.exp_header_id BETWEEN %(low)s AND %(high)s")
UPLOAD_ADQL = ("SELECT u.n, u.ra, u.dec, j.Name, j.SpType, j.Vmag, j.Kmag, j.LDD, j.e_LDD, j.CalFlag"
               " FROM TAP_UPLOAD.pos AS u JOIN jsdc.jsdc_v2 AS j"
               " ON 1 = CONTAINS(POINT(j.RAJ2000, j.DEJ2000), CIRCLE(u.ra, u.dec, 5. / 3600.))")
UPLOAD_FLOOR_SQL = ('SELECT u.n, u.ra, u.dec, j."Name", j."SpType", j."Vmag", j."Kmag", j."LDD", j."e_LDD",'
                    ' j."CalFlag" FROM pos AS u JOIN jsdc.jsdc_v2 AS j'
                    ' ON spoint(radians(j."RAJ2000"), radians(j."DEJ2000"))'
                    " <@ scircle(spoint(radians(u.ra), radians(u.dec)), %(r)s)")

_EXPOSURES_SQL = """
CREATE TABLE bench.xmatch_exposures (LIKE obsportal.exposures INCLUDING DEFAULTS);
ALTER TABLE bench.xmatch_exposures ALTER COLUMN exp_header_id TYPE bigint USING NULL;
INSERT INTO bench.xmatch_exposures (exp_id, exp_header_id, exp_mjd_start, exp_mjd_end, exp_exptime,
    exp_validation_level, exp_validation_log, exp_tau0, exp_temperature, exp_seeing, exp_airmass, exp_source,
    obs_type, dpr_catg, dpr_type, dpr_tech, interferometer_name, interferometer_stations, instrument_name,
    instrument_mode, target_name, target_ra, target_dec)
SELECT 'GRAVI.' || s.n, s.header_id, 58000 + s.n * 0.003, 58000 + s.n * 0.003 + 0.002, 60, 1, '', 0.004, 12.5,
       0.7 + (s.n % 10) * 0.05, 1.0 + (s.n % 7) * 0.1, 'bench', 'calibrator', 'CALIB', 'OBJECT', 'INTERFEROMETRY',
       'VLTI', 'A0-B2-C1-D0', (ARRAY['GRAVITY','MATISSE','PIONIER'])[1 + s.n % 3], 'LOW', s."Name",
       s."RAJ2000" + (random() - 0.5) * 4.2 / 3600 / greatest(cos(radians(s."DEJ2000")), 0.01),
       greatest(-90, least(90, s."DEJ2000" + (random() - 0.5) * 4.2 / 3600))
FROM (SELECT row_number() OVER () AS n, row_number() OVER (ORDER BY random()) AS header_id, "Name", "RAJ2000",
             "DEJ2000" FROM jsdc.jsdc_v2 ORDER BY random() LIMIT %(n)s) AS s;
ALTER TABLE bench.xmatch_exposures ADD PRIMARY KEY (exp_id);
CREATE INDEX ON bench.xmatch_exposures (exp_header_id);
CREATE INDEX ON bench.xmatch_exposures USING gist (spoint(radians(target_ra), radians(target_dec)));
ANALYZE bench.xmatch_exposures;
"""

_ADQL_TYPE = {"text": ("char", "*"), "double precision": ("double", None), "integer": ("int", None),
              "bigint": ("long", None), "timestamp with time zone": ("char", "*")}


def setup(conn: psycopg.Connection[tuple[object, ...]], role: str) -> None:
    """Create and publish bench.xmatch_exposures from the JSDC already in the database."""
    seed = 0.14
    conn.execute("SELECT setseed(%s)", [seed])
    conn.execute("DROP TABLE IF EXISTS bench.xmatch_exposures")
    conn.execute("DELETE FROM tap_schema.tables WHERE table_name = 'bench.xmatch_exposures'")
    publish_schema(conn, Schema("bench", "Generated benchmark tables (not science data)."), role)
    conn.execute(_EXPOSURES_SQL.replace("%(n)s", str(EXPOSURES)))
    rows = conn.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'bench'"
                        " AND table_name = 'xmatch_exposures' ORDER BY ordinal_position").fetchall()
    columns = []
    for name, pgtype in rows:
        datatype, arraysize = _ADQL_TYPE[str(pgtype)]
        xtype = "timestamp" if pgtype == "timestamp with time zone" else None
        unit = "deg" if name in ("target_ra", "target_dec") else None
        columns.append(Column("bench.xmatch_exposures", str(name), datatype, arraysize=arraysize, xtype=xtype,
                              unit=unit, indexed=name in ("exp_id", "exp_header_id", "target_ra", "target_dec")))
    publish_table(conn, TapTable("bench", "bench.xmatch_exposures", description="300,000 exposures on JSDC stars",
                                 columns=tuple(columns)), role)
    refresh_row_counts(conn, ["bench.xmatch_exposures"])


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
        cur.execute(sql, params)
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
            cur.execute(UPLOAD_FLOOR_SQL, {"r": np.radians(RADIUS_DEG)})
            n = len(cur.fetchall())
    return time.perf_counter() - started, n


def _positions(conn: psycopg.Connection[tuple[object, ...]], start: int) -> np.ndarray:
    """1000 star positions, each moved by up to 3″, so most match one star."""
    rows = conn.execute('SELECT "RAJ2000", "DEJ2000" FROM jsdc.jsdc_v2 WHERE recno BETWEEN %s AND %s',
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
    parser.add_argument("--setup", action="store_true", help="create and publish bench.xmatch_exposures first")
    args = parser.parse_args()
    settings = Settings.from_env()
    radians = float(np.radians(RADIUS_DEG))
    client = _Client(args.url)
    with psycopg.connect(conninfos(settings).owner, autocommit=True) as conn:
        conn.execute("SET jit = off")  # as for the query role (db/migrate.py): the floor gets the same planner
        if args.setup:
            with conn.transaction():
                setup(conn, settings.query_role)
            time.sleep(2)  # running servers reload TAP_SCHEMA on its notification
        starts = _windows(args.repeat, EXPOSURES)
        print("| query | rows | floor (psycopg, hand SQL) | jmmctap | ratio |\n| --- | --- | --- | --- | --- |")
        for label, adql in (("crossmatch, CONTAINS", CONTAINS_ADQL), ("crossmatch, DISTANCE < r", DISTANCE_ADQL)):
            service, floor, rows = [], [], 0
            for start in starts:  # a first pass reads every window's pages, so neither side finds them cold
                params = {"low": start, "high": start + WINDOW - 1}
                _floor(conn, FLOOR_SQL, {**params, "r": radians})
                client.sync(adql.format(**params))
            for i, start in enumerate(starts):
                params = {"low": start, "high": start + WINDOW - 1}
                if i % 2:  # alternate which side goes first
                    service.append(client.sync(adql.format(**params)))
                f, rows = _floor(conn, FLOOR_SQL, {**params, "r": radians})
                floor.append(f)
                if not i % 2:
                    service.append(client.sync(adql.format(**params)))
            _ratio(label, service, floor, rows)
        service, floor, rows = [], [], 0
        for start in [starts[0], *starts]:
            positions = _positions(conn, start)
            f, rows = _upload_floor(conn, positions)
            s = client.sync(UPLOAD_ADQL, ("pos", _votable(positions)))
            floor.append(f)
            service.append(s)
        _ratio("upload of 1000 positions × JSDC", service[1:], floor[1:], rows)


if __name__ == "__main__":
    main()
