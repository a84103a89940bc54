"""JSDC rows from SearchCal VOTables, and the exposures → targets → JSDC link that the examples use."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import yaml
from astropy.io.votable import parse

from jmmctap.catalogues.jsdc import column_names
from jmmctap.catalogues.samples import load_samples
from jmmctap.catalogues.searchcal import SearchCalPlan
from jmmctap.catalogues.targets import link_targets_to_jsdc
from jmmctap.errors import UsageError
from jmmctap.ingest import open_source
from jmmctap.resources import resource_dir
from jmmctap.settings import Settings

SAMPLES = resource_dir("ingest") / "samples" / "jsdc"
TEST_RECNO = 9_000_000
"""Test-only JSDC stars get recno above this (the samples use 1-120, 1001 and 2001-2080)."""
ACHERNAR_SPELLINGS = {"ALP_ERI", "alp_Eri", "ACHERNAR", "Achernar"}
"""OBJECT of the four shipped PIONIER headers of Achernar."""


def _example(example_id: str) -> str:
    document = yaml.safe_load((resource_dir("tap_schema") / "examples" / "obsportal.yaml").read_text())
    (query,) = [e["query"] for e in document["examples"] if e["id"] == example_id]
    return str(query)


def read_searchcal(path: Path, first_recno: int) -> list[dict[str, Any]]:
    source = open_source(path)
    rows = SearchCalPlan.of(source.spec).rows(source.rows(), first_recno)
    return [dict(zip(column_names(), row, strict=True)) for row in rows]


def test_origins_come_from_fields_or_params_decoded_with_the_files_own_index() -> None:
    rows = read_searchcal(SAMPLES / "SearchCal-ETA_TAU-first120.scvot", 1)
    first = rows[0]
    assert first["recno"] == 1 and first["Name"] == "HIP 17702"
    assert first["Vmag_origin"] == "I/239/hip_main"  # FIELD V.origin = 11
    assert first["Vmag_confidence"] == "HIGH"  # PARAM V.confidence = 3
    assert first["LDD_origin"] == "computed"  # PARAM LDD.origin = 2
    assert [r["recno"] for r in rows] == list(range(1, 121))


def test_a_star_without_a_value_has_no_origin_for_it() -> None:
    rows = read_searchcal(SAMPLES / "getstar-Sirius.vot", 5)
    (sirius,) = rows
    assert sirius["recno"] == 5
    assert sirius["Lmag"] is None and sirius["Lmag_origin"] is None and sirius["Lmag_confidence"] is None


def test_a_table_without_the_jsdc_columns_is_refused() -> None:
    with pytest.raises(UsageError, match="not a SearchCal JSDC table"):
        read_searchcal(SAMPLES.parent / "obsportal/obsportal-search-gravity.votable.xml", 1)


def test_a_broken_file_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.vot"
    broken.write_text("<VOTABLE><RESOURCE><TABLE><FIELD name='x'")
    with pytest.raises(UsageError, match=r"broken\.vot: malformed XML"):
        read_searchcal(broken, 1)


@pytest.fixture
def linked_test_stars(owner_conn: psycopg.Connection[Any], settings: Settings) -> Any:
    """The samples, plus two test-only JSDC stars 1 arcsec from the GC IRS 7 and HD 45677 targets.

    Of the sample targets only Achernar has a real JSDC row, so the link is also exercised with these.
    """
    load_samples(owner_conn, settings)
    targets = dict(owner_conn.execute(
        "SELECT target_name, target_id FROM obsportal.targets WHERE target_name IN ('GC_IRS7', 'HD45677')"
    ).fetchall())
    for offset, (name, ldd) in enumerate((("GC_IRS7", 3.2), ("HD45677", 0.4)), start=1):
        owner_conn.execute(
            """INSERT INTO jsdc.jsdc_v2 (recno, "Name", "RAJ2000", "DEJ2000", "LDD")
               SELECT %s, %s, target_ra, target_dec + 1 / 3600.0, %s FROM obsportal.targets WHERE target_id = %s""",
            [TEST_RECNO + offset, f"TEST star near {name}", ldd, targets[name]],
        )
    link_targets_to_jsdc(owner_conn)
    yield targets
    owner_conn.execute("DELETE FROM jsdc.jsdc_v2 WHERE recno > %s", [TEST_RECNO])
    link_targets_to_jsdc(owner_conn)


async def test_exposures_of_large_stars_in_one_adql_join(
        linked_test_stars: dict[str, int], owner_conn: psycopg.Connection[Any], client: httpx.AsyncClient) -> None:
    links = owner_conn.execute(
        "SELECT target_name, jsdc_recno, jsdc_match, round(jsdc_separation::numeric, 3) FROM obsportal.targets"
        " WHERE jsdc_recno > %s ORDER BY target_name", [TEST_RECNO]).fetchall()
    assert links == [("GC_IRS7", TEST_RECNO + 1, "unique", 1), ("HD45677", TEST_RECNO + 2, "unique", 1)]
    expected = {r[0] for r in owner_conn.execute(
        "SELECT exp_id FROM obsportal.exposures WHERE target_id = %s OR target_name = ANY(%s)",
        [linked_test_stars["GC_IRS7"], list(ACHERNAR_SPELLINGS)]).fetchall()}
    assert len(expected) == 50 + 4

    response = await client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": _example(
        "obsportal-exposures-of-large-stars"), "FORMAT": "votable/td"})
    assert response.status_code == 200, response.text
    table = parse(io.BytesIO(response.content)).get_first_table().to_table()
    assert set(table["exp_id"]) == expected  # HD 45677's star (0.4 mas) is left out
    assert set(table["LDD"]) == {3.2, 1.778622} and list(table["exp_mjd_start"]) == sorted(table["exp_mjd_start"])


async def test_the_example_returns_achernars_exposures_with_its_jsdc_diameter_after_load_samples(
        owner_conn: psycopg.Connection[Any], settings: Settings, client: httpx.AsyncClient) -> None:
    load_samples(owner_conn, settings)
    response = await client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": _example(
        "obsportal-exposures-of-large-stars"), "FORMAT": "votable/td"})
    assert response.status_code == 200, response.text
    table = parse(io.BytesIO(response.content)).get_first_table().to_table()
    # four spellings of the name in the headers, one target, the real JSDC v2 values (Hom et al. 2025 copy)
    assert set(table["header_name"]) == ACHERNAR_SPELLINGS and len(table) == 4
    assert set(table["target_name"]) == {"ALP_ERI"}  # the first exposure names the target
    assert set(table["Name"]) == {"* alf Eri"}
    assert set(table["LDD"]) == {1.778622} and set(table["e_LDD"]) == {0.19813}
    assert set(table["instrument_name"]) == {"PIONIER"}
