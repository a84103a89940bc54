"""The JSDC, JMDC, BadCal and SPICA samples: loaded, idempotent, faithful to their sources, fully described."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import psycopg
import pytest
from astropy.io import fits

from jmmctap.catalogues.catalogue_samples import TABLE_SAMPLES
from jmmctap.catalogues.jsdc import GROUPED_COLUMNS
from jmmctap.catalogues.samples import load_samples
from jmmctap.settings import Settings
from jmmctap.tapschema.declare import read_declarations
from tests.support.shared import SHARED, needs_shared

CATALOGUE_SCHEMAS = ("obsportal", "ivoa", "jsdc", "jmdc", "badcal", "spica")
NEW_TABLES = ("jsdc.jsdc_v2", "jmdc.jmdc", "badcal.valid_stars", "spica.spica_proto_wp5")
# columns whose values are physical quantities must say in what unit
NEEDS_UNIT = ("phot.mag", "pos.eq.ra", "pos.eq.dec", "phys.angSize", "em.wl")


@pytest.fixture
def samples(owner_conn: psycopg.Connection[Any], settings: Settings) -> psycopg.Connection[Any]:
    """Every shipped sample loaded (idempotent; other tests may have emptied obsportal and jsdc)."""
    load_samples(owner_conn, settings)
    return owner_conn


def _counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    rows = conn.execute("SELECT table_name, nrows FROM tap_schema.tables WHERE schema_name = ANY(%s)",
                        [list(CATALOGUE_SCHEMAS)]).fetchall()
    return {name: nrows for name, nrows in rows}


def test_all_six_catalogue_schemas_are_published_with_rows(samples: psycopg.Connection[Any]) -> None:
    schemas = {r[0] for r in samples.execute("SELECT schema_name FROM tap_schema.schemas").fetchall()}
    assert set(CATALOGUE_SCHEMAS) <= schemas
    counts = _counts(samples)
    for schema in CATALOGUE_SCHEMAS:
        assert any(n > 0 for t, n in counts.items() if t.startswith(schema + ".")), schema
    assert counts["jsdc.jsdc_v2"] == 121 + 80 and counts["jmdc.jmdc"] == 1239
    assert counts["badcal.valid_stars"] == 3 and counts["spica.spica_proto_wp5"] == 42


def test_reloading_the_samples_changes_nothing(samples: psycopg.Connection[Any], settings: Settings) -> None:
    before = _counts(samples)
    ingests = samples.execute("SELECT count(*) FROM jmmctap.ingest_log WHERE table_name = ANY(%s)",
                              [[s.table for s in TABLE_SAMPLES]]).fetchone()
    report = load_samples(samples, settings)
    assert _counts(samples) == before
    assert report.catalogues == {t: before[t] for t in NEW_TABLES}
    # unchanged sample files are not ingested again
    assert samples.execute("SELECT count(*) FROM jmmctap.ingest_log WHERE table_name = ANY(%s)",
                           [[s.table for s in TABLE_SAMPLES]]).fetchone() == ingests


@pytest.mark.parametrize("table", NEW_TABLES)
def test_every_column_has_a_description_and_a_ucd_and_quantities_a_unit(
        samples: psycopg.Connection[Any], table: str) -> None:
    (description,) = samples.execute("SELECT description FROM tap_schema.tables WHERE table_name = %s",
                                     [table]).fetchone() or (None,)
    assert description
    columns = samples.execute("SELECT column_name, description, ucd, unit FROM tap_schema.columns"
                              " WHERE table_name = %s", [table]).fetchall()
    assert columns
    for name, text, ucd, unit in columns:
        assert text and ucd, name
        if any(ucd.startswith(prefix) or f";{prefix}" in ucd for prefix in NEEDS_UNIT) and "meta." not in ucd:
            assert unit, name


def test_declarations_of_the_new_tables_have_only_known_keys() -> None:
    # a YAML flow mapping splits an unquoted description at its comma: the rest would become a key
    import yaml

    known = {"name", "datatype", "arraysize", "xtype", "description", "utype", "unit", "ucd", "indexed",
             "principal", "std"}
    for path in (Path("tap_schema/40_badcal.yaml"), Path("tap_schema/32_jsdc.yaml")):
        document = yaml.safe_load((Path(__file__).parents[2] / path).read_text())
        for schema in document["schemas"]:
            for table in schema["tables"]:
                assert [c["name"] for c in table["columns"] if set(c) - known] == [], path
    names = {t.name for _, tables, _ in read_declarations() for t in tables}
    assert {"jsdc.jsdc_v2", "badcal.valid_stars"} <= names


def test_jsdc_rows_keep_the_searchcal_values_and_decoded_origins(samples: psycopg.Connection[Any]) -> None:
    sirius = samples.execute(
        'SELECT "Name", "RAJ2000", "DEJ2000", "LDD", "e_LDD", "LDDCHI", "CalFlag", "UDDK", "Vmag", "Vmag_origin",'
        ' "Vmag_confidence", "Rmag_origin", "Rmag_confidence", "LDD_origin" FROM jsdc.jsdc_v2 WHERE recno = 1001'
    ).fetchone()
    assert sirius is not None
    assert sirius[0] == "TYC 5949-2777-1"
    assert math.isclose(sirius[1], 101.28713858333, abs_tol=1e-9) and math.isclose(sirius[2], -16.7160752775)
    assert sirius[3:8] == (6.380782, 0.4759618, 0.0882, 6, 6.309263)
    assert math.isclose(sirius[8], -1.121, rel_tol=1e-6)
    assert sirius[9:] == ("I/280", "HIGH", "computed", "LOW", "computed")
    groups = samples.execute("SELECT group_name, member_name, role FROM tap_schema.column_groups"
                             " WHERE table_name = 'jsdc.jsdc_v2' AND group_name = 'Vmag' ORDER BY role").fetchall()
    assert groups == [("Vmag", "Vmag_confidence", "confidence"), ("Vmag", "e_Vmag", "error"),
                      ("Vmag", "Vmag_origin", "origin"), ("Vmag", "Vmag", "value")]
    n_groups = samples.execute("SELECT count(DISTINCT group_name) FROM tap_schema.column_groups"
                               " WHERE table_name = 'jsdc.jsdc_v2'").fetchone()
    assert n_groups == (len(GROUPED_COLUMNS),)


@needs_shared(SHARED / "data/votable/searchcal/SearchCal-ETA_TAU.scvot")
def test_jsdc_sample_rows_are_the_first_rows_of_the_real_searchcal_file(samples: psycopg.Connection[Any]) -> None:
    from astropy.io.votable import parse

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        source = parse(str(SHARED / "data/votable/searchcal/SearchCal-ETA_TAU.scvot")).get_first_table().array
    stored = samples.execute('SELECT recno, "Name", "LDD", "e_LDD", "CalFlag", "Kmag" FROM jsdc.jsdc_v2'
                             " WHERE recno <= 120 ORDER BY recno").fetchall()
    assert len(stored) == 120
    for recno, name, ldd, e_ldd, calflag, kmag in stored:
        row = source[recno - 1]
        assert (name, ldd, e_ldd, calflag) == (row["Name"], float(row["LDD"]), float(row["e_LDD"]), int(row["CalFlag"]))
        assert math.isclose(kmag, float(row["K"]), rel_tol=1e-6)


def test_the_real_jsdc_values_load_with_the_columns_they_lack_left_null(samples: psycopg.Connection[Any]) -> None:
    achernar = samples.execute(
        'SELECT recno, "Name", "RAJ2000", "DEJ2000", "LDD", "e_LDD", "LDDCHI", "UDDK", "Vmag", "CalFlag", "SpType",'
        ' "UDDL", "LDD_origin" FROM jsdc.jsdc_v2 WHERE "Name" = %s', ["* alf Eri"]).fetchone()
    assert achernar is not None
    assert achernar[:8] == (2071, "* alf Eri", 24.42852283, -57.23675281, 1.778622, 0.19813, 0.00121582, 1.763356)
    assert achernar[8:] == (None,) * 5  # not in the source: no invented magnitude, flag, type or origin
    counted = samples.execute('SELECT count(*), count("LDD"), count("Vmag") FROM jsdc.jsdc_v2'
                              " WHERE recno BETWEEN 2001 AND 2080").fetchone()
    assert counted == (80, 80, 0)


@needs_shared(SHARED / "data/catalogs/jsdc-values/RefStar_S10_amendGrade.csv")
def test_the_jsdc_values_sample_is_the_real_file(samples: psycopg.Connection[Any]) -> None:
    import csv

    with (SHARED / "data/catalogs/jsdc-values/RefStar_S10_amendGrade.csv").open(newline="") as handle:
        real = {r["main_id"]: r for r in csv.DictReader(handle) if r["st_ldd"].strip()}
    stored = samples.execute('SELECT "Name", "LDD", "e_LDD", "LDDCHI", "UDDB" FROM jsdc.jsdc_v2'
                             " WHERE recno BETWEEN 2001 AND 2080").fetchall()
    assert {name for name, *_ in stored} == set(real)
    for name, ldd, e_ldd, chi2, uddb in stored:
        row = real[name]
        assert (ldd, e_ldd, chi2) == (float(row["st_ldd"]), float(row["st_ldderr1"]), float(row["st_lddchi"]))
        assert uddb == (float(row["st_uddb"]) if row["st_uddb"].strip() else None)


@needs_shared(SHARED / "data/catalogs/jmdc/JMDC_final_lddUpdated.fits")
def test_jmdc_sample_is_the_real_fits_with_null_for_minus_one(samples: psycopg.Connection[Any]) -> None:
    real = fits.getdata(SHARED / "data/catalogs/jmdc/JMDC_final_lddUpdated.fits", 1)
    stored = samples.execute('SELECT "ID1", "LD_MEAS" FROM jmdc.jmdc').fetchall()
    assert len(stored) == len(real) == 1239
    assert sorted(r[0] for r in stored) == sorted(str(v).strip() for v in real["ID1"])
    nulls = samples.execute('SELECT count(*) FILTER (WHERE "LD_MEAS" IS NULL),'
                            ' count(*) FILTER (WHERE "UD_MEAS" IS NULL) FROM jmdc.jmdc').fetchone()
    assert nulls == (int((real["LD_MEAS"] == -1).sum()), int((real["UD_MEAS"] == -1).sum()))
    methods = dict(samples.execute('SELECT "METHOD", count(*) FROM jmdc.jmdc GROUP BY 1').fetchall())
    assert methods == {1: 902, 2: 288, 3: 49}  # as MANIFEST.md counts them


def test_spica_sample_has_the_93_real_columns_and_decimal_positions(samples: psycopg.Connection[Any]) -> None:
    names = [r[0] for r in samples.execute("SELECT column_name FROM tap_schema.columns WHERE table_name ="
                                           " 'spica.spica_proto_wp5' ORDER BY column_index").fetchall()]
    assert len(names) == 93 + 2 and names[-2:] == ["TARGET_RA_deg", "TARGET_DEC_deg"]
    indexed = samples.execute("SELECT column_name FROM tap_schema.columns WHERE table_name ="
                              " 'spica.spica_proto_wp5' AND indexed = 1 ORDER BY 1").fetchall()
    assert indexed == [("TARGET_DEC_deg",), ("TARGET_RA_deg",)]


def test_badcal_examples_are_labelled_as_such(samples: psycopg.Connection[Any]) -> None:
    rows = samples.execute("SELECT user_name, user_comment FROM badcal.valid_stars").fetchall()
    assert rows and all("EXAMPLE" in name and "not a real" in comment for name, comment in rows)


def test_taplint_obscore_and_catalogue_examples_report_no_error(
        samples: psycopg.Connection[Any], live_server: str) -> None:
    from tests.test_taplint import report_lines, run_taplint

    report = run_taplint(live_server, ("TMS", "CAP", "OBS", "EXA"))
    ran = {section["code"] for section in report.get("sections", [])}
    assert {"OBS", "EXA"} <= ran
    assert report_lines(report, "ERROR") == [] and report_lines(report, "FAILURE") == []
    # the catalogue examples all pass taplint's own ADQL validation
    assert [w for w in report_lines(report, "WARNING") if "-EXA-" in w] == []
