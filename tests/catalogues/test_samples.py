"""The shipped samples load into every table of obsportal and ivoa.obscore, idempotently."""

from __future__ import annotations

from typing import Any

import psycopg

from jmmctap.catalogues.samples import load_samples
from jmmctap.settings import Settings

TABLES = ("obsportal.exposures", "obsportal.baselines", "obsportal.targets", "obsportal.observations",
          "obsportal.programs", "obsportal.instrument_setups", "obsportal.stations", "ivoa.obscore")


def _nrows(conn: psycopg.Connection[Any]) -> dict[str, int]:
    rows = conn.execute("SELECT table_name, nrows FROM tap_schema.tables WHERE table_name = ANY(%s)",
                        [list(TABLES)]).fetchall()
    return {name: count for name, count in rows}


def test_samples_fill_every_table_and_reload_without_duplicates(
        clean_catalogues: psycopg.Connection[Any], settings: Settings) -> None:
    conn = clean_catalogues
    first = load_samples(conn, settings)
    counts = _nrows(conn)
    assert all(counts[t] > 0 for t in TABLES), counts
    # ESO headers and archive rows, ObsPortal exports, the headers of the real PIONIER and MATISSE products,
    # the CHARA night log
    assert counts["obsportal.exposures"] == 54 + 42 + 5 + 4
    assert counts["ivoa.obscore"] == 101 + 4 + 1 + 1 + 18 + 1 + 4 + 1
    assert "101 exposures" in first.summary() and "4 CHARA night log exposures" in first.summary()
    assert "2 planned observations" in first.summary()
    second = load_samples(conn, settings)
    assert _nrows(conn) == counts
    assert len(second.eso.unchanged) == 101 and second.eso.l0_granules == 0
    assert second.chara is not None and len(second.chara.unchanged) == 4
    assert second.plan is not None and len(second.plan.unchanged) == 2
    levels = conn.execute("SELECT calib_level, count(*) FROM ivoa.obscore GROUP BY 1 ORDER BY 1").fetchall()
    assert levels == [(0, 105), (2, 26)]
    facilities = conn.execute("SELECT interferometer_name, count(*) FROM obsportal.exposures GROUP BY 1 ORDER BY 1")
    assert facilities.fetchall() == [("CHARA", 3 + 4), ("VLTI", 98)]


def test_every_sample_granule_has_a_region_an_instrument_and_its_rights(
        clean_catalogues: psycopg.Connection[Any], settings: Settings) -> None:
    conn = clean_catalogues
    load_samples(conn, settings)
    missing = conn.execute("SELECT obs_id FROM ivoa.obscore WHERE s_ra IS NOT NULL AND s_region IS NULL").fetchall()
    assert missing == []
    instruments = conn.execute("SELECT DISTINCT instrument_name FROM ivoa.obscore ORDER BY 1").fetchall()
    assert instruments == [("AMBER",), ("GRAVITY",), ("MATISSE",), ("MIRCX-MYSTIC",), ("PIONIER",), ("SPICA",)]
    # every sample was released years ago (the latest, SPICA 2022, after its ObsPortal release date)
    assert conn.execute("SELECT DISTINCT data_rights FROM ivoa.obscore").fetchall() == [("public",)]


def test_missing_l0_granules_are_written_again(clean_catalogues: psycopg.Connection[Any]) -> None:
    conn = clean_catalogues
    load_samples(conn)
    conn.execute("DELETE FROM ivoa.obscore WHERE calib_level = 0 AND facility_name = 'VLTI' AND obs_id LIKE 'GRAVI%'")
    report = load_samples(conn)
    assert report.eso.l0_granules == 2 + 39  # two GRAVITY headers, 39 exported GRAVITY exposures
    assert conn.execute("SELECT count(*) FROM ivoa.obscore WHERE calib_level = 0").fetchone() == (101 + 4,)
