"""The validation of one submitted OIFITS file: errors and warnings, in the spirit of oitools' OIFitsChecker.

An **error** is a violation of the OIFITS standard (1: Pauls et al. 2005; 2: Duvert et al. 2017). Those that
leave no granule to compute (not FITS, no single OI_TARGET, no data table, a data table without its
OI_WAVELENGTH or mandatory columns) refuse the file at every calibration level. The others (OIFITS 2 tables
in a version 1 file, an INSNAME in several OI_INSPOL tables) refuse it too, except at calibration level 3:
OiDB grants published (L3) data even if the validator finds errors, and the errors stay in the report.
A **warning** does not refuse the file: data columns that hold only NaN or flagged values, no OI_ARRAY,
values no observation can have (stored as NULL, ``granule_checks``), an instrument jmmctap does not know.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from jmmctap.catalogues.obscore_store import granule_flags
from jmmctap.catalogues.oifits import OifitsError, OifitsProduct, read_oifits
from jmmctap.products.store import StoredFile, hash_file

__all__ = ["FileCheck", "check_oifits"]

FITS_MAGIC = b"SIMPLE  ="
"""How every FITS file begins (FITS 4.0 §4.4.1.1)."""

_DATA_COLUMNS = {
    "OI_VIS": ("VISAMP", "VISPHI"), "OI_VIS2": ("VIS2DATA",), "OI_T3": ("T3AMP", "T3PHI"),
    "OI_FLUX": ("FLUXDATA", "FLUX"),
}
"""Measurement columns of each data table (OI_FLUX: FLUXDATA in OIFITS 2, FLUX in pre-standard files)."""


@dataclass(frozen=True)
class FileCheck:
    """What the validator says of one file; ``product`` is None when the file is refused."""

    name: str
    stored: StoredFile
    version: int | None
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    product: OifitsProduct | None

    @property
    def refused(self) -> bool:
        """True when the file gives no granule."""
        return self.product is None


def check_oifits(path: Path, calib_level: int) -> FileCheck:
    """Validate the OIFITS file ``path`` (named as the client named it) for a submission at ``calib_level``."""
    stored = hash_file(path)
    with path.open("rb") as handle:
        start = handle.read(len(FITS_MAGIC))
    if start != FITS_MAGIC:
        return FileCheck(path.name, stored, None, ("not a FITS file (it does not begin with SIMPLE  =)",), (), None)
    try:
        product = read_oifits(path, tolerate=calib_level == 3)
    except OifitsError as exc:
        reason = exc.message.removeprefix(f"{path.name}: ")
        return FileCheck(path.name, stored, None, tuple(reason.split("; ")), (), None)
    if not product.granules:
        return FileCheck(path.name, stored, product.version, ("no data row of any OI_TARGET target",), (), None)
    notes = _data_warnings(path) + [flag.removeprefix(f"{path.name}: ") for granule in product.granules
                                    for flag in granule_flags(product, granule)]
    return FileCheck(path.name, stored, product.version, product.problems, tuple(notes), product)


def _data_warnings(path: Path) -> list[str]:
    notes = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path, memmap=False) as hdus:
            extnames = [str(hdu.header.get("EXTNAME", "")).strip().upper() for hdu in hdus[1:]]
            if "OI_ARRAY" not in extnames:
                notes.append("no OI_ARRAY table: stations and telescope diameters unknown")
            for index, hdu in enumerate(hdus[1:], start=1):
                if isinstance(hdu, fits.BinTableHDU) and hdu.data is not None:
                    notes += _column_warnings(extnames[index - 1], index, hdu.data)
    return notes


def _column_warnings(extname: str, index: int, data: Any) -> list[str]:
    names = data.columns.names
    flags = np.asarray(data["FLAG"], dtype=bool) if "FLAG" in names else None
    notes = []
    for column in _DATA_COLUMNS.get(extname, ()):
        if column not in names:
            continue
        values = np.asarray(data[column], dtype=np.float64)
        if values.size and not np.isfinite(values).any():
            notes.append(f"{extname} #{index}: {column} holds only NaN or infinite values")
        elif flags is not None and flags.shape == values.shape and flags.size and flags.all():
            notes.append(f"{extname} #{index}: every {column} value is flagged")
    return notes
