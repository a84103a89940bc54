"""Derive ``jsdc_v2_values_Hom2025.vot`` from the real JSDC v2 values of Hom et al. 2025 (developer tool, needs ../shared/).

Source: ``RefStar_S10_amendGrade.csv`` of jrhom1/rex-corgi-i (MIT; Zenodo 10.5281/zenodo.17548112), which
copies, for 96 bright stars, their JSDC v2 (VizieR II/346) values: ``st_ldd`` = LDD, ``st_ldderr1`` = e_LDD,
``st_lddchi`` = LDDCHI, ``st_uddb``..``st_uddk`` = UDDB..UDDK (its schema file says so). The 80 stars that
have an LDD are written with II/346's column labels, values unchanged; the position is the file's SIMBAD one
(``ra``, ``dec``: ICRS degrees) and Name its SIMBAD main identifier. II/346 columns the file lacks
(magnitudes and their errors, UDDL/M/N, CalFlag, SpType) are not written, so they load as NULL.

    .venv/bin/python ingest/samples/jsdc/derive_jsdc_values_sample.py \\
        ../shared/data/catalogs/jsdc-values/RefStar_S10_amendGrade.csv
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from astropy.io.votable.tree import Field, Info, Resource, TableElement, VOTableFile

OUTPUT = Path(__file__).with_name("jsdc_v2_values_Hom2025.vot")
FIRST_RECNO = 2001
"""Record number of the first star (after the other JSDC samples; not VizieR's recno)."""

# II/346 label → (source column, unit, UCD, description from the II/346 ReadMe)
COLUMNS = {
    "LDD": ("st_ldd", "mas", "phys.angSize;src", "Limb-darkened diameter"),
    "e_LDD": ("st_ldderr1", "mas", "stat.error;phys.angSize;src", "Error on LDD"),
    "LDDCHI": ("st_lddchi", None, "stat.fit.chi2", "Reduced chi2 of the LDD diameter fit"),
    **{f"UDD{band}": (f"st_udd{band.lower()}", "mas", "phys.angSize;src", f"{band}-band uniform-disk diameter")
       for band in "BVRIJHK"},
}


def main(source: Path) -> None:
    with source.open(newline="") as handle:
        stars = [row for row in csv.DictReader(handle) if row["st_ldd"].strip()]
    votable = VOTableFile()
    resource = Resource()
    votable.resources.append(resource)
    resource.infos.append(Info(name="source", value=(
        "JSDC v2 (VizieR II/346) values of 80 bright stars as copied by Hom et al. 2025,"
        " jrhom1/rex-corgi-i RefStar_S10_amendGrade.csv (MIT), Zenodo 10.5281/zenodo.17548112;"
        " positions and names from SIMBAD via the same file")))
    table = TableElement(votable, name="jsdc_v2_values")
    resource.tables.append(table)
    table.fields.extend([
        Field(votable, name="recno", datatype="int", ucd="meta.record"),
        Field(votable, name="Name", datatype="char", arraysize="*", ucd="meta.id;meta.main"),
        Field(votable, name="RAJ2000", datatype="double", unit="deg", ucd="pos.eq.ra;meta.main"),
        Field(votable, name="DEJ2000", datatype="double", unit="deg", ucd="pos.eq.dec;meta.main"),
        *(Field(votable, name=name, datatype="double", unit=unit, ucd=ucd) for name, (_, unit, ucd, _) in
          COLUMNS.items()),
    ])
    for field, (_, _, _, text) in zip(table.fields[4:], COLUMNS.values(), strict=True):
        field.description = text
    table.create_arrays(len(stars))
    for index, star in enumerate(stars):
        values = [FIRST_RECNO + index, star["main_id"].strip(), float(star["ra"]), float(star["dec"])]
        values += [float(star[column]) if star[column].strip() else float("nan") for column, *_ in COLUMNS.values()]
        table.array[index] = tuple(values)
    votable.to_xml(str(OUTPUT))
    print(f"{OUTPUT.name}: {len(stars)} stars")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
