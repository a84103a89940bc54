"""Derive ``JMDC_II_345_v2016.fits`` from the SearchCal JMDC FITS (developer tool, needs ../shared/).

Keeps the 13 JMDC columns of ``JMDC_final_lddUpdated.fits`` (all 1239 rows, values unchanged except
the -1 "no value" markers of the diameter columns, written as NaN so that they load as NULL), adds
the position of each star from the file's SearchCal cross-match (RAJ2000/DEJ2000 converted from
sexagesimal to degrees, ICRS J2000) and its SIMBAD identifier, and writes units, descriptions
(TCOMMn) and UCDs (TUCDn) taken from the CDS ReadMe of II/345.

    .venv/bin/python ingest/samples/jmdc/derive_jmdc_sample.py ../shared/data/catalogs/jmdc/JMDC_final_lddUpdated.fits
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from astropy.coordinates import Angle
from astropy.io import fits

OUTPUT = Path(__file__).with_name("JMDC_II_345_v2016.fits")

# name → (unit, description, UCD); descriptions from ReadMe-JMDC-II_345.txt
COLUMNS = {
    "ID1": (None, "Normalised star name (preferably HD)", "meta.id;meta.main"),
    "ID2": (None, "Star name used in the original publication", "meta.id"),
    "UD_MEAS": ("mas", "Uniform disk diameter (UDdiam)", "phys.angSize;src"),
    "LD_MEAS": ("mas", "Limb-darkened disk diameter (LDdiam)", "phys.angSize;src"),
    "E_LD_MEAS": ("mas", "Error on UD_MEAS and LD_MEAS (e_LDdiam)", "stat.error;phys.angSize;src"),
    "BAND": (None, "Wavelength (micron unless stated; A = Angstrom, nm) or photometric band of the measurement",
             "instr.bandpass"),
    "MU_LAMBDA": (None, "Linear limb-darkening coefficient used by the author to convert UDD into LDD (mu-lambda)",
                  "phys.limbDark"),
    "UD_TO_LD_CONVFACTOR": (None, "UDD to LDD conversion factor computed by JMMC", "arith.factor"),
    "LDD_ORIG": ("mas", "Limb-darkened diameter as published (before the JMMC conversion)", "phys.angSize;src"),
    "METHOD": (None, "Measurement method: 1 optical interferometry, 2 lunar occultation, 3 intensity interferometry",
               "meta.code.class"),
    "BANDCODE": (None, "Band code: 1=U 2=B 3=V 4=R 5=I 6=J 7=H 8=K 9=L 10=M 11=N 12=Q", "instr.bandpass;meta.code"),
    "NOTES": (None, "Notes", "meta.note"),
    "REFERENCE": (None, "Reference of the measurement (free text)", "meta.bib"),
}
NO_VALUE = ("UD_MEAS", "LD_MEAS", "E_LD_MEAS", "UD_TO_LD_CONVFACTOR", "LDD_ORIG")


def main(source: Path) -> None:
    hdu = fits.open(source)[1]
    data = hdu.data
    cols = []
    for name, (unit, _, _) in COLUMNS.items():
        column = hdu.columns[name]
        values = data[name]
        if name in NO_VALUE:
            values = np.where(values == -1, np.nan, values)
        cols.append(fits.Column(name=name, format=column.format, unit=unit, null=column.null, array=values))
    ra = np.array([_degrees(v, hours=True) for v in data["RAJ2000"]])
    dec = np.array([_degrees(v, hours=False) for v in data["DEJ2000"]])
    cols += [
        fits.Column(name="RAJ2000", format="D", unit="deg", array=ra),
        fits.Column(name="DEJ2000", format="D", unit="deg", array=dec),
        fits.Column(name="SIMBAD", format=hdu.columns["SIMBAD"].format, array=data["SIMBAD"]),
    ]
    extra = {"RAJ2000": ("Right ascension (ICRS, J2000) from the SearchCal cross-match", "pos.eq.ra;meta.main"),
             "DEJ2000": ("Declination (ICRS, J2000) from the SearchCal cross-match", "pos.eq.dec;meta.main"),
             "SIMBAD": ("SIMBAD identifier from the SearchCal cross-match", "meta.id.cross")}
    table = fits.BinTableHDU.from_columns(cols, name="JMDC")
    for i, col in enumerate(cols, start=1):
        description, ucd = (COLUMNS[col.name][1:] if col.name in COLUMNS else extra[col.name])
        table.header[f"TCOMM{i}"] = description
        table.header[f"TUCD{i}"] = ucd
    table.header["EXTNAME"] = "JMDC"
    table.header["COMMENT"] = ("JMMC Measured stellar Diameters Catalogue (Duvert 2016, VizieR II/345 first version),"
                               " from SearchCal alx/config/JMDC/JMDC_final_lddUpdated.fits (GPL-3.0)")
    table.writeto(OUTPUT, overwrite=True)


def _degrees(text: str, *, hours: bool) -> float:
    text = str(text).strip()
    if not text:
        return float("nan")
    return float(Angle(text, unit="hourangle" if hours else "deg").degree)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
