"""OiDB's clients query `oidb` as they did on OiDB's TAP service (sql/0031, tap_schema/36_oidb.yaml)."""

from __future__ import annotations

import io
from typing import Any

import httpx
import psycopg
import pytest
import yaml
from astropy.io.votable import parse
from astropy.table import Table

from jmmctap.catalogues.samples import load_samples
from jmmctap.resources import resource_dir
from jmmctap.settings import Settings

OIDB_COLUMNS = [
    "id", "dataproduct_type", "calib_level", "target_name", "obs_id", "obs_collection", "obs_creator_name",
    "obs_release_date", "obs_publisher_did", "bib_reference", "data_rights", "access_url", "access_format",
    "access_estsize", "s_ra", "s_dec", "s_fov", "s_region", "s_resolution", "t_min", "t_max", "t_exptime",
    "t_resolution", "em_min", "em_max", "em_res_power", "o_ucd", "pol_states", "facility_name", "instrument_name",
    "instrument_mode", "quality_level", "interferometer_stations", "nb_channels", "nb_vis", "nb_vis2", "nb_t3",
    "keywords", "subdate", "progid", "datapi", "access_md5", "dataproduct_category", "proposal_subid", "note",
    "procsoft",
]
"""OiDB's columns (JMMC-OpenDev/oidb conf/oidb.sql and complete_oidb_obscore_schema.sql)."""


@pytest.fixture
def samples(clean_catalogues: psycopg.Connection[Any], settings: Settings) -> psycopg.Connection[Any]:
    load_samples(clean_catalogues, settings)
    return clean_catalogues


async def _query(client: httpx.AsyncClient, adql: str, **params: str) -> Table:
    # OiDB's tap.xqm: GET sync?REQUEST=doQuery&LANG=ADQL&FORMAT=votable/td&MAXREC=-1&QUERY=...
    response = await client.get("/tap/sync", params={"REQUEST": "doQuery", "LANG": "ADQL", "FORMAT": "votable/td",
                                                     "MAXREC": "-1", "QUERY": adql, **params})
    assert response.status_code == 200, response.text
    return parse(io.BytesIO(response.content)).get_first_table().to_table()


async def test_oidb_has_oidbs_columns_and_every_obscore_row(
        samples: psycopg.Connection[Any], client: httpx.AsyncClient) -> None:
    table = await _query(client, "SELECT * from oidb", MAXREC="1")  # datamodels' metadata probe
    assert table.colnames == OIDB_COLUMNS
    (count,) = await _query(client, "SELECT COUNT(*) AS n FROM oidb AS t")
    assert count["n"] == samples.execute("SELECT count(*) FROM ivoa.obscore").fetchone()[0]  # type: ignore[index]


async def test_the_portals_filters_work_unchanged(samples: psycopg.Connection[Any], client: httpx.AsyncClient) -> None:
    # adql.xqm filters: instrument=PIONIER, caliblevel=1,2,3, public=yes, ordered with t.id for paging
    pionier = await _query(client, "SELECT ALL t.target_name, t.instrument_name, t.id FROM oidb AS t"
                                   " WHERE ( t.instrument_name LIKE 'PIONIER%' ) AND ( t.calib_level=1 OR"
                                   " t.calib_level=2 OR t.calib_level=3 ) AND ( t.data_rights='public' OR"
                                   " t.obs_release_date < '2026-01-01T00:00:00' ) ORDER BY t.target_name, t.id")
    assert set(pionier["instrument_name"]) == {"PIONIER"} and len(pionier) == 18 + 1 + 4
    # conesearch=Achernar,0.01,deg and the collections list
    cone = await _query(client, "SELECT TOP 100 t.target_name, t.calib_level FROM oidb AS t WHERE"
                                " ( CONTAINS(POINT('ICRS', t.s_ra, t.s_dec), CIRCLE('ICRS', 24.42852, -57.23675,"
                                " 0.01))=1 ) ORDER BY t.calib_level")
    assert set(cone["target_name"]) >= {"ACHERNAR", "ALP_ERI", "alp_Eri", "Achernar"}
    assert set(cone["calib_level"]) == {0, 2}  # the exposures' logs and the products
    collections = await _query(client, "SELECT DISTINCT t.obs_collection, t.calib_level FROM oidb AS t"
                                       " ORDER BY t.obs_collection")
    assert ("samples_pionier", 2) in {(str(c), int(level)) for c, level in collections}


async def test_third_party_and_a2p2_queries_work_unchanged(
        samples: psycopg.Connection[Any], client: httpx.AsyncClient) -> None:
    # services.md: a public TypeScript client, and a2p2's Catalog("oidb").getTable()
    box = await _query(client, "SELECT instrument_name, calib_level, datapi, bib_reference, t_min, access_url"
                               " FROM oidb WHERE s_ra BETWEEN 24 AND 25 AND s_dec BETWEEN -58 AND -57")
    assert set(box["instrument_name"]) == {"PIONIER"}
    (granule_id,) = samples.execute("SELECT min(id) FROM ivoa.obscore WHERE calib_level = 2").fetchone()  # type: ignore[misc]
    row = await _query(client, f"SELECT TOP 10000 * FROM oidb  WHERE id = {granule_id}")
    assert list(row["obs_publisher_did"]) == [f"ivo://jmmc.fr/oidb?{granule_id}"]


async def test_oidb_is_published_with_oidbs_descriptions(client: httpx.AsyncClient) -> None:
    columns = await _query(client, "SELECT column_name, description, ucd FROM TAP_SCHEMA.columns"
                                   " WHERE table_name = 'oidb.oidb'")
    assert sorted(columns["column_name"]) == sorted(OIDB_COLUMNS)
    assert all(str(d).strip() for d in columns["description"])
    tables = await _query(client, "SELECT table_name, table_type FROM TAP_SCHEMA.tables WHERE schema_name = 'oidb'")
    assert [tuple(r) for r in tables] == [("oidb.oidb", "view")]
    document = yaml.safe_load((resource_dir("tap_schema") / "36_oidb.yaml").read_text())
    assert [c["name"] for c in document["schemas"][0]["tables"][0]["columns"]] == OIDB_COLUMNS
