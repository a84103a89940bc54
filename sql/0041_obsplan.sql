-- Issue 20: ivoa.obsplan, the ObsLocTAP 1.0 table (IVOA REC 2021-07-24), of executed and planned observations.
--
-- Executed observations are not copied: the view derives them from obsportal at each query, so the table is
-- as current as obsportal (every ingest-eso and ingest-chara shows at once). One row per executed template of
-- an observation block (obsportal.observations), or per exposure when the source gave no OB (ObsPortal exports,
-- CHARA night logs): obs_id is the ESO header id (DP.ID) of its first exposure, the obs_id of its L0 granule in
-- ivoa.obscore; execution_status 'Performed'; the time range, summed exposure time, target, facility and
-- instrument setup of its exposures (an exposure without an end lasts its exposure time, if known).
--
-- Planned observations are the rows of obsportal.planned_observations, loaded from Aspro2 OB exports by
-- `jmmctap ingest-plan` (jmmctap.catalogues.obsplan_store); execution_status 'Planned'.
--
-- Column names, units, UCDs and utypes: the REC's table (tap_schema/38_obsplan.yaml), as taplint's LOC stage
-- checks them. A plain view (not security_invoker): obsportal has no row-level security, and the query role
-- reads the view only, not the planned table.

CREATE TABLE obsportal.planned_observations (
    obs_id                  text PRIMARY KEY,
    t_planning              double precision NOT NULL,
    target_name             text,
    obs_collection          text,
    s_ra                    double precision CHECK (s_ra >= 0 AND s_ra < 360),
    s_dec                   double precision CHECK (s_dec BETWEEN -90 AND 90),
    t_min                   double precision,
    t_max                   double precision,
    t_plan_exptime          double precision CHECK (t_plan_exptime > 0),
    em_min                  double precision,
    em_max                  double precision,
    em_res_power            double precision,
    facility_name           text NOT NULL,
    instrument_name         text,
    instrument_mode         text,
    interferometer_stations text,
    category                text NOT NULL CHECK (category IN ('Fixed', 'Coordinated', 'Window', 'Other')),
    priority                integer NOT NULL CHECK (priority IN (0, 1, 2)),
    tracking_type           text NOT NULL
        CHECK (tracking_type IN ('Sidereal', 'Solar-system-object-tracking', 'Fixed-az-el-transit')),
    source                  text NOT NULL,
    CHECK (t_min <= t_max)
);
COMMENT ON TABLE obsportal.planned_observations IS
    'Planned observations (Aspro2 OB exports loaded by jmmctap ingest-plan); published through ivoa.obsplan';

CREATE VIEW ivoa.obsplan AS
WITH executed AS (
    SELECT coalesce(e.obs_id::text, e.exp_header_id) AS observation,
           min(e.exp_header_id) AS obs_id,
           max(e.exp_date_updated) AS date_updated,
           (array_agg(e.target_name ORDER BY e.exp_mjd_start, e.exp_id))[1] AS target_name,
           (array_agg(e.target_ra ORDER BY e.exp_mjd_start, e.exp_id))[1] AS s_ra,
           (array_agg(e.target_dec ORDER BY e.exp_mjd_start, e.exp_id))[1] AS s_dec,
           min(e.exp_mjd_start) AS t_min,
           max(coalesce(e.exp_mjd_end, e.exp_mjd_start + e.exp_exptime / 86400, e.exp_mjd_start)) AS t_max,
           sum(e.exp_exptime) AS exptime,
           (array_agg(e.setup_id ORDER BY e.exp_mjd_start, e.exp_id))[1] AS setup_id,
           (array_agg(e.interferometer_name ORDER BY e.exp_mjd_start, e.exp_id))[1] AS facility_name,
           (array_agg(e.instrument_name ORDER BY e.exp_mjd_start, e.exp_id))[1] AS instrument_name,
           (array_agg(concat_ws('_', e.instrument_mode, e.instrument_submode)
                      ORDER BY e.exp_mjd_start, e.exp_id))[1] AS instrument_mode,
           (array_agg(e.interferometer_stations ORDER BY e.exp_mjd_start, e.exp_id))[1] AS stations
    FROM obsportal.exposures e
    WHERE e.exp_mjd_start IS NOT NULL
    GROUP BY 1
)
SELECT extract(epoch FROM x.date_updated)::double precision / 86400 + 40587 AS t_planning,
       x.target_name, x.obs_id,
       CASE x.facility_name WHEN 'VLTI' THEN 'eso_vlti_import' WHEN 'CHARA' THEN 'chara_import'
            ELSE 'obsportal_import' END AS obs_collection,
       x.s_ra, x.s_dec, NULL::double precision AS s_fov, NULL::spoly AS s_region,
       NULL::double precision AS s_resolution,
       x.t_min, x.t_max,
       coalesce(x.exptime, round(((x.t_max - x.t_min) * 86400)::numeric, 3)::double precision) AS t_exptime,
       NULL::double precision AS t_resolution,
       s.em_min, s.em_max, s.em_res_power,
       NULL::text AS o_ucd, NULL::text AS pol_states, NULL::integer AS pol_xel,
       coalesce(x.facility_name, 'unknown') AS facility_name, x.instrument_name,
       NULL::double precision AS t_plan_exptime,
       'Other'::text AS category, 0 AS priority, 'Performed'::text AS execution_status,
       'Sidereal'::text AS tracking_type,
       nullif(x.instrument_mode, '') AS instrument_mode, x.stations AS interferometer_stations
FROM executed x LEFT JOIN obsportal.instrument_setups s USING (setup_id)
UNION ALL
SELECT p.t_planning, p.target_name, p.obs_id, p.obs_collection, p.s_ra, p.s_dec,
       NULL::double precision, NULL::spoly, NULL::double precision,
       p.t_min, p.t_max, NULL::double precision, NULL::double precision,
       p.em_min, p.em_max, p.em_res_power, NULL::text, NULL::text, NULL::integer,
       p.facility_name, p.instrument_name, p.t_plan_exptime,
       p.category, p.priority, 'Planned'::text, p.tracking_type,
       p.instrument_mode, p.interferometer_stations
FROM obsportal.planned_observations p;
COMMENT ON VIEW ivoa.obsplan IS 'ObsLocTAP 1.0: executed observations (from obsportal) and planned ones';
