"""A stand-in for the ESO archive in the sync-eso tests: ``dbo.raw`` for a jmmctap TAP server, a header service.

``dbo.raw`` is built from ``tests/data/eso_sync/dbo_raw.csv`` (real rows: astroquery's ESO test data and the
rows of the headers served; ``derive_dbo_raw.py`` tells how). The header service answers
``/hdr?DpId=...`` as archive.eso.org does (an HTML page, the header in ``<pre>``, one card a line) from
the real headers of ``ingest/samples/eso`` and of the oimodeler products (``../shared``, or the copies
``ingest/samples/oifits`` ships).
"""

from __future__ import annotations

import csv
import html
import math
import threading
import warnings
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
from astropy.io import fits
from astropy.io.votable import from_table
from astropy.table import Table
from astropy.time import Time

from jmmctap.catalogues.eso_archive import INTERFEROMETRIC_INSTRUMENTS
from jmmctap.ingest import ingest_files
from tests.support.shared import SAMPLES, SHARED

__all__ = ["DBO_RAW_CSV", "HeaderService", "dp_id_of", "dump_catalogues", "header_files", "header_of", "load_dbo_raw"]

DBO_RAW_CSV = Path(__file__).resolve().parents[1] / "data" / "eso_sync" / "dbo_raw.csv"
_OIMODELER = SHARED / "data" / "oifits" / "oimodeler"


def header_of(path: Path) -> fits.Header:
    """The primary header of a served file (a ``.hdr`` dump or a FITS file)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if path.suffix == ".hdr":
            return fits.Header.fromstring(path.read_text(), sep="\n")
        return fits.getheader(path, 0)


def dp_id_of(header: fits.Header) -> str:
    """The archive's DP.ID of an exposure: ARCFILE without ``.fits``, else the instrument and MJD-OBS."""
    arcfile = str(header.get("ARCFILE", "")).strip()
    if arcfile:
        return arcfile.removesuffix(".fits")
    stamp = Time(float(header["MJD-OBS"]), format="mjd", scale="utc", precision=3).isot
    return f"{str(header['INSTRUME']).strip().upper()[:5]}.{stamp}"


def header_files() -> dict[str, Path]:
    """DP.ID → file of every header the service can serve here (more with ``../shared``)."""
    names = sorted(p.name for p in _OIMODELER.glob("*.fits")) if _OIMODELER.is_dir() else []
    copies = [p for p in sorted((SAMPLES / "oifits").glob("*.fits"))
              if p.name.startswith(("PIONIER_Achernar_PIONI.", "MATISSE_Canopus_"))]
    files = [*sorted((SAMPLES / "eso").glob("*.hdr")), *(_OIMODELER / n for n in names), *copies]
    found: dict[str, Path] = {}
    for path in files:
        found.setdefault(dp_id_of(header_of(path)), path)
    return found


def load_dbo_raw(conn: psycopg.Connection[Any], directory: Path, query_role: str, served: set[str]) -> int:
    """Publish ``dbo.raw``: every non-interferometric row, and the interferometric rows whose header is served.

    Returns how many interferometric rows it holds. ``last_mod_date`` is a timestamp, as in the archive.
    """
    with DBO_RAW_CSV.open() as f:
        rows = [r for r in csv.DictReader(f) if r["instrument"] not in INTERFEROMETRIC_INSTRUMENTS
                or r["dp_id"] in served]
    columns = list(rows[0])
    data = {name: [float(r[name]) if r[name] else math.nan for r in rows] if name in _NUMBERS
            else [r[name] for r in rows] for name in columns}
    document = from_table(Table(data, names=columns))
    document.get_first_table().get_field_by_id("last_mod_date").xtype = "timestamp"
    votable = directory / "dbo_raw.vot"
    document.to_xml(str(votable))
    ingest_files(conn, [votable], "dbo.raw", mode="replace", query_role=query_role,
                 description="ESO archive dbo.raw extract (tests of sync-eso)")
    return sum(1 for r in rows if r["instrument"] in INTERFEROMETRIC_INSTRUMENTS)


_NUMBERS = frozenset({"ra", "dec", "mjd_obs", "exposure"})
"""The dbo.raw columns loaded as numbers (the others as text: the sync reads none of them)."""


@dataclass
class HeaderService:
    """``/hdr?DpId=`` over the headers given; records each request; can hold or fail some of them."""

    headers: dict[str, Path]
    missing: set[str] = field(default_factory=set)
    """DP.IDs answered 404 (the archive has no header)."""
    overrides: dict[str, str] = field(default_factory=dict)
    """DP.ID → header text served instead of its file's (an archive that corrected a header)."""
    fail_once: set[str] = field(default_factory=set)
    """DP.IDs answered 503 the first time (a passing outage)."""
    hold_at: int | None = None
    """The request number (1-based) that waits for ``release`` before answering."""
    requests: list[str] = field(default_factory=list)
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._texts: dict[str, str] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url_template(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hdr?DpId={{dp_id}}"

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
        self.held.clear()
        self.release.clear()
        self.hold_at = None

    def page(self, dp_id: str) -> tuple[int, str]:
        with self._lock:
            self.requests.append(dp_id)
            number = len(self.requests)
            failing = dp_id in self.fail_once
            self.fail_once.discard(dp_id)
        if self.hold_at == number:
            self.held.set()
            self.release.wait(60)
        if failing:
            return 503, "busy"
        path = self.headers.get(dp_id)
        if path is None or dp_id in self.missing:
            return 404, "<html><body>No header found</body></html>"
        if dp_id in self.overrides:
            text = fits.Header.fromstring(self.overrides[dp_id], sep="\n").tostring(sep="\n", padding=False)
        else:
            text = self._texts.get(dp_id) or header_of(path).tostring(sep="\n", padding=False)
            self._texts[dp_id] = text
        return 200, (f"<html><head><title>{html.escape(dp_id)}</title></head><body><pre>"
                     f"{html.escape(text)}\nEND\n</pre></body></html>")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                status, body = service.page(query.get("DpId", [""])[0])
                data = body.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client was killed while it waited
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


_DROPPED = {
    "obsportal.exposures": ("target_id", "obs_id", "setup_id", "exp_date_updated", "exp_date_created"),
    "obsportal.targets": ("target_id", "date_updated", "date_created"),
    "obsportal.observations": ("obs_id",),
    "obsportal.instrument_setups": ("setup_id",),
    "obsportal.programs": ("date_updated",),
    "obsportal.baselines": (),
    "ivoa.obscore": ("id", "obs_publisher_did", "subdate"),
}
"""Per table, the columns that differ between equal databases: serial numbers and times of writing."""


def dump_catalogues(conn: psycopg.Connection[Any]) -> dict[str, list[str]]:
    """Every row of the tables a sync writes, as sorted JSON without serial ids and write times.

    An exposure carries its target, observation and setup by value, so their ids need not match.
    """
    from psycopg import sql

    dump: dict[str, list[str]] = {}
    for table, dropped in _DROPPED.items():
        rows = conn.execute(sql.SQL("SELECT (to_jsonb(t) - %s::text[])::text FROM {} t").format(
            sql.Identifier(*table.split("."))), [list(dropped)]).fetchall()
        dump[table] = sorted(r[0] for r in rows)
    links = conn.execute(
        """SELECT e.exp_id, tg.target_name, tg.target_ra, tg.target_dec, o.ob_id, o.tpl_start, s.instrument_mode
           FROM obsportal.exposures e LEFT JOIN obsportal.targets tg USING (target_id)
           LEFT JOIN obsportal.observations o USING (obs_id) LEFT JOIN obsportal.instrument_setups s USING (setup_id)
           ORDER BY e.exp_id""").fetchall()
    dump["links"] = [repr(r) for r in links]
    return dump
