"""Time ``jmmctap ingest-jsdc`` on a JSDC file of N stars against a floor.

    JMMCTAP_HOME=/tmp/bench .venv/bin/python bench/jsdc_ingest.py --stars 500000
    JMMCTAP_HOME=/tmp/bench .venv/bin/python bench/jsdc_ingest.py --stars 100000 --layout searchcal

The VizieR file (BINARY2 VOTable, sexagesimal positions as VizieR writes them; stars drawn by
``jsdc_generate.generate``) or the SearchCal one (the shipped 120-row SearchCal sample repeated, the
layout of JMMC's own JSDC VOTable) is written once per size and seed. The floor is ``jmmctap ingest`` of the
same file into a new table (votable2tap: stream, COPY, GiST index); then ``ingest-jsdc --mode
replace`` loads it into jsdc.jsdc_v2 (staging COPY, upsert, replace, target links). Both run as
child processes under ``/usr/bin/time``, so their wall time and peak RSS are their own. The bench
database's JSDC is replaced by the synthetic stars.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
from astropy.coordinates import Angle
from astropy.io.votable import from_table
from astropy.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from jsdc_generate import generate

from jmmctap.catalogues.jsdc import GROUPED_COLUMNS
from jmmctap.db import migrate
from jmmctap.db.connect import connect, conninfos
from jmmctap.resources import resource_dir
from jmmctap.settings import Settings

VIZIER_VALUES = [c for g in GROUPED_COLUMNS if g.column != "SpType" for c in (g.column, g.error) if c]


def write_vizier_file(path: Path, stars: int, seed: int) -> None:
    """N stars in II/346's layout (recno, Name, sexagesimal RAJ2000/DEJ2000, SpType, values, CalFlag)."""
    cols = generate(np.random.default_rng(seed), stars, 1)
    table = Table()
    table["recno"] = cols["recno"].astype(np.int32)
    table["Name"] = np.array([f"SYN {r}" for r in cols["recno"]])
    table["RAJ2000"] = Angle(cols["RAJ2000"], "deg").to_string(unit="hourangle", sep=" ", precision=4, pad=True)
    table["DEJ2000"] = Angle(cols["DEJ2000"], "deg").to_string(unit="deg", sep=" ", precision=3, pad=True,
                                                               alwayssign=True)
    table["SpType"] = cols["SpType"].astype(str)
    for name in [*VIZIER_VALUES, "LDDCHI"]:
        table[name] = cols[name].astype(np.float64)
    table["CalFlag"] = cols["CalFlag"].astype(np.int16)
    votable = from_table(table)
    fields = {f.name: f for f in votable.get_first_table().fields}
    with warnings.catch_warnings():  # VizieR's quoted sexagesimal units are not VOUnits: astropy says so
        warnings.simplefilter("ignore")
        fields["RAJ2000"].ucd, fields["RAJ2000"].unit = "pos.eq.ra;meta.main", '"h:m:s"'
        fields["DEJ2000"].ucd, fields["DEJ2000"].unit = "pos.eq.dec;meta.main", '"d:m:s"'
    partial = path.with_suffix(".partial")
    votable.to_xml(str(partial), tabledata_format="binary2")
    partial.rename(path)  # an interrupted run leaves no half-written file to be reused


def write_searchcal_file(path: Path, stars: int) -> None:
    """The shipped SearchCal sample (120 real rows, 98 FIELDs) repeated to N rows: JMMC's JSDC VOTable layout."""
    text = (resource_dir("ingest") / "samples" / "jsdc" / "SearchCal-ETA_TAU-first120.scvot").read_text()
    head, _, rest = text.partition("<TABLEDATA>")
    body, _, tail = rest.partition("</TABLEDATA>")
    rows = [f"<TR>{r}" for r in body.split("<TR>")[1:]]
    partial = path.with_suffix(".partial")
    with partial.open("w") as out:
        out.write(head.replace('nrows="120"', f'nrows="{stars}"') + "<TABLEDATA>")
        for i in range(stars):
            out.write(rows[i % len(rows)])
        out.write("</TABLEDATA>" + tail)
    partial.rename(path)


def timed(command: list[str]) -> tuple[float, int]:
    """(wall seconds, peak RSS in MB) of a child process; exits if it fails."""
    done = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M", *command], capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")
    wall, rss = done.stderr.strip().splitlines()[-1].split()[1:]
    return float(wall), int(rss) // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stars", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=346)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs of floor and measure (median)")
    parser.add_argument("--layout", choices=["vizier", "searchcal"], default="vizier",
                        help="VizieR II/346 BINARY2 (default) or SearchCal TABLEDATA (the shipped sample repeated)")
    args = parser.parse_args()
    path = Path(tempfile.gettempdir()) / f"jmmctap-bench-jsdc-{args.layout}-{args.stars}-{args.seed}.vot"
    if not path.exists():
        (write_vizier_file(path, args.stars, args.seed) if args.layout == "vizier"
         else write_searchcal_file(path, args.stars))
    numbering = ["--first-recno", "1"] if args.layout == "searchcal" else []
    jmmctap = [sys.executable, "-m", "jmmctap.cli"]
    settings = Settings.from_env()
    migrate.init_database(settings)
    floors, loads = [], []
    for run in range(args.repeat):
        mode = "replace" if run or _exists(settings) else "create"
        floors.append(timed([*jmmctap, "ingest", str(path), "--table", "bench.jsdc_floor", "--mode", mode]))
        loads.append(timed([*jmmctap, "ingest-jsdc", str(path), "--mode", "replace", *numbering]))
    floor, load = sorted(floors)[len(floors) // 2], sorted(loads)[len(loads) // 2]
    size = path.stat().st_size / 1e6
    print(f"{args.stars:,} stars, {args.layout} layout, {size:.0f} MB; median of {args.repeat}")
    print(f"floor  jmmctap ingest (new table)    {floor[0]:7.2f} s  peak RSS {floor[1]} MB")
    print(f"ingest-jsdc --mode replace         {load[0]:7.2f} s  peak RSS {load[1]} MB"
          f"  = {load[0] / floor[0]:.2f}x floor")


def _exists(settings: Settings) -> bool:
    """Whether the floor table is there already (an earlier run): ``create`` refuses it."""
    with connect(conninfos(settings).owner) as conn:
        row = conn.execute("SELECT to_regclass('bench.jsdc_floor') IS NOT NULL").fetchone()
    return bool(row and row[0])


if __name__ == "__main__":
    main()
