"""Level-0 ObsCore granules derived from ObsPortal exposures (OiDB's ``obsportal:metadata`` mapping).

One granule per exposure: obs_id = the ESO header id (so the L0 log and the OIFITS products of an
exposure share obs_id), collection ``eso_vlti_import`` / ``chara_import`` (OiDB's L0 collections),
t_min/t_max = exposure start/end, t_exptime = their difference in seconds rounded to the
millisecond, instrument_mode = mode_submode, nb_channels = -1, dataproduct_category =
upper(obs_type), datapi = the program's PI, access_url = the ESO archive query for VLTI, else the
ObsPortal detail page; data_rights ``proprietary`` until exp_date_release, ``public`` after (OiDB
wrote ``secure`` forever; see ``data_rights``). s_fov / s_region: the diffraction beam of the
smallest telescope of the stations at the longest wavelength of the mode (or of the instrument
when the mode is unknown), as for the OIFITS products (``field_of_view``). Upserted on OiDB's L0
key (obs_id, obs_collection, instrument_mode).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import psycopg

from jmmctap.catalogues.data_rights import refresh_data_rights
from jmmctap.catalogues.field_of_view import (
    circle_polygon,
    field_of_view_deg,
    longest_wavelength_m,
    telescope_diameter_m,
)
from jmmctap.catalogues.obscore_store import PUBLISHER_DID_PREFIX

__all__ = ["L0_COLLECTIONS", "derive_l0_granules"]

L0_COLLECTIONS = {"VLTI": "eso_vlti_import", "CHARA": "chara_import"}
"""Collection of the L0 granules per interferometer (OiDB's names); others: ``obsportal_import``."""

_ESO_ARCHIVE_QUERY = "http://archive.eso.org/wdb/wdb/eso/eso_archive_main/query?dp_id="
_OBSPORTAL_DETAIL = "https://obs.jmmc.fr/detail/exposure/"

_DERIVE = """
WITH source AS (
    SELECT e.*, s.em_min, s.em_max, s.em_res_power,
           coalesce(%(collections)s::jsonb ->> e.interferometer_name, 'obsportal_import') AS collection,
           concat_ws('_', e.instrument_mode, e.instrument_submode) AS mode
    FROM obsportal.exposures e LEFT JOIN obsportal.instrument_setups s USING (setup_id)
    WHERE e.exp_id = ANY(%(exp_ids)s)
), stale AS (
    DELETE FROM ivoa.obscore o USING source
    WHERE o.calib_level = 0 AND o.obs_id = source.exp_header_id
      AND (o.obs_collection, o.instrument_mode) IS DISTINCT FROM (source.collection, nullif(source.mode, ''))
), numbered AS (
    SELECT nextval(pg_get_serial_sequence('ivoa.obscore', 'id')) AS id, source.* FROM source
)
INSERT INTO ivoa.obscore AS o (id, obs_publisher_did, dataproduct_type, calib_level, obs_collection, obs_id,
    access_url, access_format, target_name, s_ra, s_dec, s_xel1, s_xel2, t_min, t_max, t_exptime,
    em_min, em_max, em_res_power, facility_name, instrument_name, obs_creator_name, obs_release_date,
    data_rights, instrument_mode, interferometer_stations, nb_channels, progid, datapi, dataproduct_category)
SELECT id, %(did)s || id, 'visibility', 0, collection, exp_header_id,
       CASE WHEN interferometer_name = 'VLTI' THEN %(eso)s || exp_header_id ELSE %(detail)s || exp_id END,
       'text/html', coalesce(target_name, '-'), target_ra, target_dec, -1, -1,
       exp_mjd_start, coalesce(exp_mjd_end, exp_mjd_start),
       round(((coalesce(exp_mjd_end, exp_mjd_start) - exp_mjd_start) * 86400)::numeric, 3),
       em_min, em_max, em_res_power, interferometer_name, instrument_name, 'JMMC ObsPortal', exp_date_release,
       CASE WHEN exp_date_release <= now() THEN 'public' ELSE 'proprietary' END, nullif(mode, ''),
       interferometer_stations, -1, obs_program, obs_program_pi_coi, upper(obs_type)
FROM numbered
WHERE exp_mjd_start IS NOT NULL
ON CONFLICT (obs_id, obs_collection, instrument_mode) WHERE calib_level = 0 DO UPDATE SET
    access_url = excluded.access_url, target_name = excluded.target_name,
    s_ra = excluded.s_ra, s_dec = excluded.s_dec,
    t_min = excluded.t_min, t_max = excluded.t_max, t_exptime = excluded.t_exptime,
    em_min = excluded.em_min, em_max = excluded.em_max, em_res_power = excluded.em_res_power,
    facility_name = excluded.facility_name, instrument_name = excluded.instrument_name,
    obs_release_date = excluded.obs_release_date, interferometer_stations = excluded.interferometer_stations,
    progid = excluded.progid, datapi = excluded.datapi, dataproduct_category = excluded.dataproduct_category,
    subdate = DEFAULT
WHERE (o.access_url, o.target_name, o.s_ra, o.s_dec, o.t_min, o.t_max, o.t_exptime,
       o.em_min, o.em_max, o.em_res_power, o.facility_name, o.instrument_name, o.obs_release_date,
       o.interferometer_stations, o.progid, o.datapi, o.dataproduct_category)
      IS DISTINCT FROM
      (excluded.access_url, excluded.target_name, excluded.s_ra, excluded.s_dec, excluded.t_min,
       excluded.t_max, excluded.t_exptime, excluded.em_min, excluded.em_max, excluded.em_res_power,
       excluded.facility_name, excluded.instrument_name, excluded.obs_release_date,
       excluded.interferometer_stations, excluded.progid, excluded.datapi, excluded.dataproduct_category)
"""


_GRANULES = """
    SELECT o.id, o.s_ra, o.s_dec, o.facility_name, o.instrument_name, o.interferometer_stations, o.em_max, o.s_fov
    FROM ivoa.obscore o JOIN obsportal.exposures e ON o.obs_id = e.exp_header_id
    WHERE o.calib_level = 0 AND e.exp_id = ANY(%s)"""


def derive_l0_granules(conn: psycopg.Connection[Any], exp_ids: Sequence[str]) -> int:
    """Upsert the L0 granules of the given exposures (caller's transaction); returns how many changed.

    Exposures without a start time give no granule (ObsCore needs t_min to be useful and
    OiDB's L0 rows always have it).
    """
    cursor = conn.execute(_DERIVE, {
        "exp_ids": list(exp_ids), "collections": json.dumps(L0_COLLECTIONS), "did": PUBLISHER_DID_PREFIX,
        "eso": _ESO_ARCHIVE_QUERY, "detail": _OBSPORTAL_DETAIL,
    })
    changed = cursor.rowcount
    ids = _set_regions(conn, exp_ids)
    refresh_data_rights(conn, ids=ids)
    return changed


def _set_regions(conn: psycopg.Connection[Any], exp_ids: Sequence[str]) -> list[int]:
    """Fill s_fov and s_region of the L0 granules of the exposures where they changed; returns the granule ids."""
    rows = conn.execute(_GRANULES, [list(exp_ids)]).fetchall()
    updates = []
    for granule_id, ra, dec, facility, instrument, stations, em_max, old_fov in rows:
        wavelength = em_max if em_max is not None else longest_wavelength_m(facility, instrument)
        fov = field_of_view_deg(wavelength, telescope_diameter_m(facility, (stations or "").split()))
        if fov != old_fov:
            region = None if fov is None or ra is None or dec is None else circle_polygon(ra, dec, fov / 2)
            updates.append((fov, region, granule_id))
    if updates:
        with conn.cursor() as cur:
            cur.executemany("UPDATE ivoa.obscore SET s_fov = %s, s_region = %s::spoly WHERE id = %s", updates)
    return [int(row[0]) for row in rows]
