"""Level-0 ObsCore granules derived from ObsPortal exposures (OiDB's ``obsportal:metadata`` mapping).

One granule per exposure: obs_id = the ESO header id (so the L0 log and the OIFITS products of an
exposure share obs_id), collection ``eso_vlti_import`` / ``chara_import`` (OiDB's L0 collections),
t_min/t_max = exposure start/end, t_exptime = their difference in seconds rounded to the
millisecond, instrument_mode = mode_submode, nb_channels = -1, dataproduct_category =
upper(obs_type), datapi = the program's PI, access_url = the ESO archive query for VLTI, else the
ObsPortal detail page; data_rights ``secure`` until exp_date_release. Upserted on OiDB's L0 key
(obs_id, obs_collection, instrument_mode).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import psycopg

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
       'secure', nullif(mode, ''), interferometer_stations, -1, obs_program, obs_program_pi_coi, upper(obs_type)
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


def derive_l0_granules(conn: psycopg.Connection[Any], exp_ids: Sequence[str]) -> int:
    """Upsert the L0 granules of the given exposures (caller's transaction); returns how many changed.

    Exposures without a start time give no granule (ObsCore needs t_min to be useful and
    OiDB's L0 rows always have it).
    """
    cursor = conn.execute(_DERIVE, {
        "exp_ids": list(exp_ids), "collections": json.dumps(L0_COLLECTIONS), "did": PUBLISHER_DID_PREFIX,
        "eso": _ESO_ARCHIVE_QUERY, "detail": _OBSPORTAL_DETAIL,
    })
    return cursor.rowcount
