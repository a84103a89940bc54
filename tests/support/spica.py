"""A SPICA-like catalog for the catalog API tests, made from the shipped SPICA-DB sample.

The shipped prototype (``ingest/samples/spica``) has no key and one PI for every row; the real ``spica``
catalog of JMMC's TAP has a ``spicadb_id`` key, PI columns ``piname`` and ``piname2`` (several PIs
``/``-separated) and the columns a2p2 and spica-nss read (``shared/jmmc/schemas.md`` §7). ``write_spica``
keeps the 42 sample targets under those real column names and shares them between ``PIS``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io.votable import parse_single_table
from astropy.table import Table

from tests.support.shared import SAMPLES

__all__ = ["PIS", "SPICA_SAMPLE", "write_spica"]

SPICA_SAMPLE = SAMPLES / "spica" / "spica-db-proto-partial_wp5.vot"
"""The shipped SPICA-DB prototype extract (42 targets)."""

PIS = ("Carol PI", "Dan PI", "Erin PI")
"""PI names written in ``piname``, in turn: row ``spicadb_id`` n belongs to ``PIS[(n - 1) % 3]``."""


def write_spica(path: Path) -> Path:
    """Write the SPICA-like catalog as a VOTable at ``path`` (rows ``spicadb_id`` 1..42)."""
    sample = parse_single_table(str(SPICA_SAMPLE)).to_table()
    n = len(sample)
    where = SkyCoord(list(sample["TARGET_RA"]), list(sample["TARGET_DEC"]), unit=("hourangle", "deg"))
    ids = np.arange(1, n + 1, dtype=np.int32)
    table = Table({
        "spicadb_id": ids,
        "target_main_id": [str(v) for v in sample["TARGET_MAIN_ID"]],
        "spt": [str(v) for v in sample["TARGET_SpT"]],
        "progname": [str(v) for v in sample["TARGET_PROGNAME"]],
        "spica_mode": [str(v) for v in sample["TARGET_Flag_Type"]],
        "priority_pi": np.asarray(sample["TARGET_Flag_Priority_PI"], dtype=np.int16),
        "ra": where.ra.deg, "dec": where.dec.deg,
        "vmag": np.asarray(sample["TARGET_Vmag"].filled(np.nan), dtype=np.float64),
        "piname": [PIS[(i - 1) % len(PIS)] for i in ids],
        # the last rows are shared with a second PI, as JMMC writes it
        "piname2": [PIS[i % len(PIS)] if i > n - 3 else "" for i in ids],
    })
    table.write(path, format="votable", overwrite=True)
    return path
