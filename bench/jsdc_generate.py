"""Fill ``jsdc.jsdc_v2`` with a realistic synthetic JSDC (500,000 stars by default) for benchmarks.

    JMMCTAP_HOME=/tmp/bench .venv/bin/python bench/jsdc_generate.py --stars 500000
    curl 'http://127.0.0.1:8000/scs/jsdc?RA=10&DEC=20&SR=1'

The stars follow JSDC v2's shape: concentrated toward the Galactic plane, V from 2 to 13 mag
(number counts rising ~0.45 dex per magnitude), K from a colour drawn per spectral class, LDD from
the Kervella et al. (2004) V-K surface-brightness relation, e_LDD ~7 %, LDDCHI log-normal,
CalFlag bits with JSDC-like frequencies (about 75 % of stars unflagged), UDDs from LDD with
band-dependent limb darkening, SearchCal origins and confidences. Rows get recno above the
table's current maximum (the samples stay) and go in with COPY; then TAP_SCHEMA row counts and
the target links are refreshed. Runs as the owner role of the configured database.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from psycopg import sql

from jmmctap.catalogues.jsdc import GROUPED_COLUMNS, JSDC_TABLE, column_names, publish_jsdc_groups
from jmmctap.catalogues.targets import link_targets_to_jsdc
from jmmctap.db import migrate
from jmmctap.db.connect import connect, conninfos
from jmmctap.settings import Settings
from jmmctap.tapschema.publish import refresh_row_counts

SPECTRAL = (("B5V", -0.35, 0.05), ("A0V", 0.0, 0.05), ("F5V", 1.0, 0.1), ("G5III", 2.1, 0.2),
            ("K2III", 2.9, 0.25), ("K5III", 3.6, 0.3), ("M2III", 4.8, 0.5))
"""(spectral type, mean V-K, scatter); drawn with JSDC-like weights."""
WEIGHTS = (0.06, 0.12, 0.14, 0.18, 0.3, 0.14, 0.06)
LIMB = {"B": 0.93, "V": 0.94, "R": 0.95, "I": 0.96, "J": 0.97, "H": 0.975, "K": 0.98, "L": 0.985, "M": 0.987,
        "N": 0.99}
"""UDD/LDD ratio per band (stronger limb darkening in the blue)."""
BATCH = 50_000


def generate(rng: np.random.Generator, n: int, first_recno: int) -> dict[str, np.ndarray]:
    """One batch of stars as columns."""
    # Galactic-plane concentration: latitude from a Laplace law, then to equatorial (rough rotation)
    lon = rng.uniform(0, 360, n)
    lat = np.clip(rng.laplace(0, 20, n), -89.9, 89.9)
    ra, dec = _galactic_to_icrs(lon, lat)
    v = 13 - rng.exponential(1 / (0.45 * np.log(10)), n)
    v = np.clip(v, 2, 13)
    kind = rng.choice(len(SPECTRAL), n, p=WEIGHTS)
    vk = np.array([s[1] for s in SPECTRAL])[kind] + rng.normal(0, 1, n) * np.array([s[2] for s in SPECTRAL])[kind]
    k = v - vk
    ldd = 10 ** (0.2753 * vk + 0.5175 - 0.2 * v)
    cols: dict[str, np.ndarray] = {
        "recno": np.arange(first_recno, first_recno + n), "RAJ2000": ra, "DEJ2000": dec,
        "SpType": np.array([s[0] for s in SPECTRAL])[kind], "Vmag": v, "e_Vmag": rng.uniform(0.005, 0.05, n),
        "Bmag": v + 0.3 * vk / 2.5, "e_Bmag": rng.uniform(0.01, 0.08, n),
        "Rmag": v - 0.2 * vk / 2.5, "Imag": v - 0.45 * vk / 2.5,
        "Jmag": k + 0.2 * vk / 2.5 + 0.1, "e_Jmag": rng.uniform(0.02, 0.3, n),
        "Hmag": k + 0.05, "e_Hmag": rng.uniform(0.02, 0.3, n), "Kmag": k, "e_Kmag": rng.uniform(0.02, 0.3, n),
        "Lmag": k - 0.05, "e_Lmag": rng.uniform(0.02, 0.2, n), "Mmag": k - 0.02, "e_Mmag": rng.uniform(0.02, 0.2, n),
        "Nmag": k - 0.1, "e_Nmag": rng.uniform(0.02, 0.3, n),
        "LDD": ldd, "e_LDD": ldd * rng.uniform(0.04, 0.12, n), "LDDCHI": rng.lognormal(-1, 1, n),
    }
    chi_bit = (cols["LDDCHI"] > 5).astype(int)
    cols["CalFlag"] = chi_bit | (rng.random(n) < 0.08).astype(int) * 2 | (rng.random(n) < 0.15).astype(int) * 4
    for band, ratio in LIMB.items():
        cols[f"UDD{band}"] = ldd * ratio
    for group in GROUPED_COLUMNS:
        computed = group.column.startswith("UDD") or group.column in ("LDD", "Rmag", "Imag")
        source = "computed" if computed else ("SIMBAD" if group.column == "SpType" else "I/280")
        cols[f"{group.column}_origin"] = np.full(n, source, dtype=object)
        cols[f"{group.column}_confidence"] = rng.choice(np.array(["HIGH", "MEDIUM", "LOW"], dtype=object), n,
                                                        p=(0.8, 0.15, 0.05))
    return cols


def _galactic_to_icrs(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rotation = np.array([[-0.0548755604, 0.4941094279, -0.8676661490],
                         [-0.8734370902, -0.4448296300, -0.1980763734],
                         [-0.4838350155, 0.7469822445, 0.4559837762]])  # ICRS→Galactic; its transpose goes back
    lo, la = np.radians(lon), np.radians(lat)
    xyz = np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])
    x, y, z = rotation.T @ xyz
    return np.degrees(np.arctan2(y, x)) % 360, np.degrees(np.arcsin(np.clip(z, -1, 1)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stars", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=346)
    args = parser.parse_args()
    settings = Settings.from_env()
    migrate.init_database(settings)
    rng = np.random.default_rng(args.seed)
    names = column_names()
    started = time.monotonic()
    with connect(conninfos(settings).owner) as conn, conn.transaction():
        row = conn.execute("SELECT coalesce(max(recno), 0) + 1 FROM jsdc.jsdc_v2").fetchone()
        next_recno = int(row[0]) if row else 1
        copy = sql.SQL("COPY jsdc.jsdc_v2 ({}) FROM STDIN").format(sql.SQL(", ").join(map(sql.Identifier, names)))
        done = 0
        with conn.cursor() as cur, cur.copy(copy) as writer:
            while done < args.stars:
                n = min(BATCH, args.stars - done)
                cols = generate(rng, n, next_recno + done)
                cols["Name"] = np.array([f"SYN {r}" for r in cols["recno"]], dtype=object)
                for i in range(n):
                    writer.write_row([_value(cols[c][i]) if c in cols else None for c in names])
                done += n
        publish_jsdc_groups(conn)
        linked = link_targets_to_jsdc(conn)
        refresh_row_counts(conn, [JSDC_TABLE, "obsportal.targets"])
    print(f"{args.stars:,} synthetic JSDC stars from recno {next_recno} in {time.monotonic() - started:.1f} s;"
          f" {linked} target links changed")


def _value(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


if __name__ == "__main__":
    main()
