"""Storage of ObsPortal exposures: all ``obsportal.*`` writes except target grouping (``targets.py``).

Writes are differential: re-ingesting a header updates its exposure in place (same ``exp_id``)
and touches ``exp_date_updated`` only when a stored value changed, so ObsPortal-style incremental
harvesting (``exp_date_updated`` windows, as OiDB does) sees real changes only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from jmmctap.catalogues.baselines import Baseline
from jmmctap.catalogues.embargo import add_embargo, embargo_for, mjd_to_datetime
from jmmctap.catalogues.exposure import Exposure
from jmmctap.catalogues.stations import load_stations

__all__ = ["baselines_json", "publish_stations", "release_date", "upsert_exposure"]

_FACILITY_COLLECTION_TYPE = {"VLTI": "eso", "CHARA": "chara"}

# Columns compared to decide whether a re-ingested exposure changed (all but the bookkeeping ones).
_EXPOSURE_COLUMNS = (
    "exp_header_id", "exp_mjd_start", "exp_mjd_end", "exp_exptime", "exp_projected_baselines",
    "exp_validation_level", "exp_validation_log", "exp_tau0", "exp_temperature", "exp_seeing", "exp_airmass",
    "exp_date_release", "exp_source", "obs_id", "obs_type", "obs_program", "obs_program_pi_coi", "dpr_catg",
    "dpr_type", "dpr_tech", "setup_id", "interferometer_name", "interferometer_stations", "instrument_name",
    "instrument_mode", "instrument_submode", "target_name", "target_ra", "target_dec",
)


def publish_stations(conn: psycopg.Connection[Any]) -> int:
    """Write the shipped station table into ``obsportal.stations`` (idempotent); returns its size."""
    rows = [(s.interferometer, s.name, s.telescope, s.x_m, s.y_m, s.z_m) for s in load_stations().values()]
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO obsportal.stations (interferometer_name, station_name, telescope, x, y, z)
               VALUES (%s, %s, %s, %s, %s, %s)
               ON CONFLICT (interferometer_name, station_name) DO UPDATE SET telescope = excluded.telescope,
                   x = excluded.x, y = excluded.y, z = excluded.z""",
            rows,
        )
    return len(rows)


def baselines_json(baselines: Sequence[Baseline]) -> str | None:
    """ObsPortal's ``exp_projected_baselines`` shape, as real JSON (ObsPortal printed a Python dict)."""
    if not baselines:
        return None
    return json.dumps({
        b.name: {"length": {"start": b.length_start, "end": b.length_end},
                 "angle": {"start": b.angle_start, "end": b.angle_end}}
        for b in baselines
    })


def release_date(exposure: Exposure) -> datetime | None:
    """End of exposure + the facility's proprietary period (ESO 1 year, CHARA 18 months)."""
    end = exposure.mjd_end if exposure.mjd_end is not None else exposure.mjd_start
    collection_type = _FACILITY_COLLECTION_TYPE.get(exposure.interferometer_name or "")
    if end is None or collection_type is None:
        return None
    return add_embargo(mjd_to_datetime(end), embargo_for(collection_type))


def upsert_exposure(conn: psycopg.Connection[Any], exposure: Exposure) -> str:
    """Insert or update one exposure with its program, setup, observation and baselines.

    Returns ``"inserted"``, ``"updated"`` or ``"unchanged"``. Runs in the caller's transaction.
    """
    program = _upsert_program(conn, exposure)
    setup_id = _upsert_setup(conn, exposure)
    obs_id = _upsert_observation(conn, exposure, program)
    setup = exposure.setup
    values = {
        "exp_id": exposure.exp_id, "exp_header_id": exposure.exp_header_id,
        "exp_mjd_start": exposure.mjd_start, "exp_mjd_end": exposure.mjd_end, "exp_exptime": exposure.exptime_s,
        "exp_projected_baselines": baselines_json(exposure.baselines),
        "exp_validation_level": exposure.validation_level, "exp_validation_log": json.dumps(exposure.validation_log),
        "exp_tau0": exposure.tau0_s, "exp_temperature": exposure.temperature_c, "exp_seeing": exposure.seeing_arcsec,
        "exp_airmass": exposure.airmass, "exp_date_release": release_date(exposure), "exp_source": exposure.source,
        "obs_id": obs_id, "obs_type": exposure.obs_type, "obs_program": program,
        "obs_program_pi_coi": exposure.program_pi_coi, "dpr_catg": exposure.dpr_catg,
        "dpr_type": exposure.dpr_type, "dpr_tech": exposure.dpr_tech, "setup_id": setup_id,
        "interferometer_name": exposure.interferometer_name,
        "interferometer_stations": " ".join(exposure.stations) or None,
        "instrument_name": exposure.instrument_name,
        "instrument_mode": setup.mode if setup else None, "instrument_submode": setup.submode if setup else None,
        "target_name": exposure.target_name, "target_ra": exposure.ra_deg, "target_dec": exposure.dec_deg,
    }
    row = conn.execute(_UPSERT_EXPOSURE, values).fetchone()
    if row is None:
        return "unchanged"
    _replace_baselines(conn, exposure)
    return "inserted" if row[0] else "updated"


def _build_upsert() -> sql.Composed:
    names = ("exp_id", *_EXPOSURE_COLUMNS)
    columns = sql.SQL(", ").join(sql.Identifier(n) for n in names)
    placeholders = sql.SQL(", ").join(sql.Placeholder(n) for n in names)
    updates = sql.SQL(", ").join(
        sql.SQL("{0} = excluded.{0}").format(sql.Identifier(n)) for n in _EXPOSURE_COLUMNS
    )
    old = sql.SQL(", ").join(sql.SQL("exposures.{}").format(sql.Identifier(n)) for n in _EXPOSURE_COLUMNS)
    new = sql.SQL(", ").join(sql.SQL("excluded.{}").format(sql.Identifier(n)) for n in _EXPOSURE_COLUMNS)
    # a moved pointing leaves its target: grouping (targets.py) assigns a new one
    return sql.SQL(
        "INSERT INTO obsportal.exposures ({columns}) VALUES ({placeholders})"
        " ON CONFLICT (exp_id) DO UPDATE SET {updates}, exp_date_updated = now(),"
        " target_id = CASE WHEN (exposures.target_ra, exposures.target_dec)"
        " IS NOT DISTINCT FROM (excluded.target_ra, excluded.target_dec) THEN exposures.target_id END"
        " WHERE ({old}) IS DISTINCT FROM ({new})"
        " RETURNING (xmax = 0) AS inserted"
    ).format(columns=columns, placeholders=placeholders, updates=updates, old=old, new=new)


_UPSERT_EXPOSURE = _build_upsert()


def _upsert_program(conn: psycopg.Connection[Any], exposure: Exposure) -> str | None:
    if not exposure.program_id:
        return None
    conn.execute(
        """INSERT INTO obsportal.programs (program_id, pi_coi) VALUES (%s, %s)
           ON CONFLICT (program_id) DO UPDATE SET pi_coi = coalesce(excluded.pi_coi, programs.pi_coi),
               date_updated = now()
           WHERE excluded.pi_coi IS NOT NULL AND excluded.pi_coi IS DISTINCT FROM programs.pi_coi""",
        [exposure.program_id, exposure.program_pi_coi],
    )
    return exposure.program_id


def _upsert_setup(conn: psycopg.Connection[Any], exposure: Exposure) -> int | None:
    setup = exposure.setup
    if setup is None:
        return None
    row = conn.execute(
        """INSERT INTO obsportal.instrument_setups (interferometer_name, instrument_name, instrument_mode,
               instrument_submode, em_min, em_max, em_res_power) VALUES (%s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (interferometer_name, instrument_name, instrument_mode, instrument_submode)
           DO UPDATE SET em_min = excluded.em_min, em_max = excluded.em_max, em_res_power = excluded.em_res_power
           RETURNING setup_id""",
        [setup.interferometer_name, setup.instrument_name, setup.mode, setup.submode,
         setup.em_min, setup.em_max, setup.em_res_power],
    ).fetchone()
    return None if row is None else int(row[0])


def _upsert_observation(conn: psycopg.Connection[Any], exposure: Exposure, program: str | None) -> int | None:
    if exposure.ob_id is None and exposure.tpl_start is None:
        return None
    row = conn.execute(
        """INSERT INTO obsportal.observations (instrument_name, ob_id, ob_name, ob_target_name, obs_program,
               obs_type, tpl_id, tpl_start, tpl_nexp) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (instrument_name, ob_id, tpl_start) DO UPDATE SET ob_name = excluded.ob_name,
               ob_target_name = excluded.ob_target_name, obs_program = excluded.obs_program,
               obs_type = excluded.obs_type, tpl_id = excluded.tpl_id, tpl_nexp = excluded.tpl_nexp
           RETURNING obs_id""",
        [exposure.instrument_name, exposure.ob_id, exposure.ob_name, exposure.ob_target_name, program,
         exposure.obs_type, exposure.tpl_id, exposure.tpl_start, exposure.tpl_nexp],
    ).fetchone()
    return None if row is None else int(row[0])


def _replace_baselines(conn: psycopg.Connection[Any], exposure: Exposure) -> None:
    conn.execute("DELETE FROM obsportal.baselines WHERE exp_id = %s", [exposure.exp_id])
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO obsportal.baselines (exp_id, station1, station2, length_start, length_end,
                   angle_start, angle_end, source) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (exp_id, station1, station2) DO NOTHING""",
            [(exposure.exp_id, b.station1, b.station2, b.length_start, b.length_end, b.angle_start,
              b.angle_end, b.source) for b in exposure.baselines],
        )
