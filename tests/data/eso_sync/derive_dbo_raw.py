"""Derive ``dbo_raw.csv``: an extract shaped like the ESO archive's TAP table ``dbo.raw``.

Rows, in this order:

1. the 23 rows of astroquery's ``astroquery/eso/tests/data/query_main_sgra.csv`` (astropy/astroquery commit
   2e8c636b, BSD-3-Clause): real ``dbo.raw`` answers (SINFONI, not interferometric: a sync skips them);
   they give the table its 62 real columns, in the archive's order;
2. one row per exposure header the tests serve: the four ``ingest/samples/eso/*.hdr`` and the primary
   headers of ``../shared/data/oifits/oimodeler/*.fits``. Their ``dbo.raw`` columns are read from the
   header's own keywords (the archive fills them the same way): dp_id = ARCFILE without ``.fits`` (or,
   without ARCFILE, the instrument cut to 5 characters and MJD-OBS to the millisecond, as the archive
   names files), object, ra, dec, mjd_obs, exposure (EXPTIME), instrument, telescope, prog_id, ob_id,
   ob_name, pi_coi, dp_cat/dp_type/dp_tech (DPR CATG/TYPE/TECH), tpl_id, tpl_start, tpl_nexp, tpl_expno,
   date_obs, origfile; last_mod_date = the header's DATE (when the file was written), in UTC. Other
   columns are empty.

Run from the repository root with ``../shared`` beside it: ``python tests/data/eso_sync/derive_dbo_raw.py``.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from astropy.time import Time

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))  # run as a script: the headers are read and named as the test archive serves them
from tests.support.eso_archive import dp_id_of, header_of  # noqa: E402

ASTROQUERY = ROOT.parent / ".mirror" / "astropy+astroquery" / "repo"  # a clone of astropy/astroquery
ASTROQUERY_COMMIT = "2e8c636ba874bd33258100e6766d04c94fe2fca8"
HEADERS = [*sorted((ROOT / "ingest" / "samples" / "eso").glob("*.hdr")),
           *sorted((ROOT.parent / "shared" / "data" / "oifits" / "oimodeler").glob("*.fits"))]

KEYWORDS = {
    "object": "OBJECT", "ra": "RA", "dec": "DEC", "mjd_obs": "MJD-OBS", "exposure": "EXPTIME",
    "instrument": "INSTRUME", "telescope": "TELESCOP", "prog_id": "ESO OBS PROG ID", "ob_id": "ESO OBS ID",
    "ob_name": "ESO OBS NAME", "pi_coi": "ESO OBS PI-COI NAME", "dp_cat": "ESO DPR CATG", "dp_type": "ESO DPR TYPE",
    "dp_tech": "ESO DPR TECH", "tpl_id": "ESO TPL ID", "tpl_start": "ESO TPL START", "tpl_nexp": "ESO TPL NEXP",
    "tpl_expno": "ESO TPL EXPNO", "date_obs": "DATE-OBS", "origfile": "ORIGFILE",
}


def main() -> None:
    text = subprocess.run(["git", "-C", str(ASTROQUERY), "show",
                           f"{ASTROQUERY_COMMIT}:astroquery/eso/tests/data/query_main_sgra.csv"],
                          check=True, capture_output=True, text=True).stdout
    reader = csv.DictReader(text.splitlines())
    columns = [c for c in reader.fieldnames or [] if c]  # the first, unnamed column is pandas' index
    rows = [{c: row[c] for c in columns} for row in reader]
    seen: set[str] = set()
    for path in HEADERS:
        header = header_of(path)
        dp_id = dp_id_of(header)
        if dp_id in seen:
            continue
        seen.add(dp_id)
        row = dict.fromkeys(columns, "")
        row["dp_id"] = dp_id
        for column, keyword in KEYWORDS.items():
            value = header.get(keyword)
            row[column] = "" if value is None else str(value).strip()
        row["last_mod_date"] = Time(str(header["DATE"]), scale="utc", precision=3).isot + "Z"
        rows.append(row)
    writer = csv.DictWriter(sys.stdout, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


if __name__ == "__main__":
    main()
