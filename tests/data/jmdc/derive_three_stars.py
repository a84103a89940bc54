"""Derive JMDC_final_lddUpdated-3stars.fits: the rows of three stars of the JMDC FITS, every column and header kept.

Run once from the repository root, with ../shared beside it:
    .venv/bin/python tests/data/jmdc/derive_three_stars.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits

SOURCE = Path("../shared/data/catalogs/jmdc/JMDC_final_lddUpdated.fits")
TARGET = Path(__file__).with_name("JMDC_final_lddUpdated-3stars.fits")
STARS = ("HD10144", "HD31964", "2MASS J17454004-2900225")
"""The stars tests/catalogues/test_jsdc_ingest.py builds its VizieR II/346 tables from."""


def main() -> None:
    with fits.open(SOURCE) as hdus:
        table = hdus[1]
        keep = np.isin(np.char.strip(table.data["ID1"]), STARS)
        fits.HDUList([fits.PrimaryHDU(header=hdus[0].header),
                      fits.BinTableHDU(data=table.data[keep], header=table.header)]).writeto(TARGET, overwrite=True)


if __name__ == "__main__":
    main()
