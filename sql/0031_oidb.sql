-- Issue 16: ObsCore rows that tell the truth, and OiDB's own table name for its clients.
--
-- 1. A granule of an OIFITS file is one (collection, observation, level, target, INSNAME, night). The
--    INSNAME (PIONIER_Pnat(1.59/1.76), GRAVITY_SC...) now lives in instrument_mode and instrument_name holds
--    the facility's instrument (PIONIER, GRAVITY): GRAVITY_FT and GRAVITY_SC of one night stay two granules.
--    Existing rows keep their instrument_name until their file is ingested again (jmmctap.catalogues.instruments
--    normalises it; load-samples does it on every start).
UPDATE ivoa.obscore SET instrument_mode = instrument_name WHERE calib_level > 0 AND instrument_mode IS NULL;
DROP INDEX ivoa.obscore_granule;
CREATE UNIQUE INDEX obscore_granule ON ivoa.obscore (obs_collection, obs_id, calib_level, target_name,
    instrument_mode, night_id) NULLS NOT DISTINCT WHERE calib_level > 0;

-- 2. data_rights follows the VOResource/ObsCore vocabulary (ObsCore 1.1 B.4.4): 'public' (anyone),
--    'secure' (anyone authenticated: not used here), 'proprietary' (only some users). A row is 'proprietary'
--    while its collection is private (sql/0025) or its release date has not come (or is unknown: ObsCore B.4.5),
--    'public' afterwards. It is stored, so it must be refreshed as time passes: every ingest refreshes the rows
--    it wrote, a collection change refreshes all, and a running server refreshes when the next release
--    date comes (jmmctap.catalogues.data_rights). OiDB stored 'secure' forever, even for data released in 2013.
CREATE INDEX obscore_pending_release ON ivoa.obscore (obs_release_date) WHERE data_rights <> 'public';

CREATE FUNCTION acl.refresh_data_rights(at timestamptz DEFAULT now(), ids bigint[] DEFAULT NULL) RETURNS bigint
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    WITH private AS (SELECT coalesce(array_agg(c.name), '{}') AS names FROM acl.collection c WHERE c.private),
    computed AS (
        SELECT o.id, CASE WHEN o.obs_collection = ANY (p.names) OR o.obs_release_date IS NULL
                               OR o.obs_release_date > at THEN 'proprietary' ELSE 'public' END AS rights
        FROM ivoa.obscore o, private p
        WHERE CASE WHEN ids IS NULL THEN o.data_rights <> 'public' OR o.obs_collection = ANY (p.names)
                   ELSE o.id = ANY (ids) END
    ), changed AS (
        UPDATE ivoa.obscore o SET data_rights = c.rights FROM computed c
        WHERE o.id = c.id AND o.data_rights <> c.rights RETURNING 1
    )
    SELECT count(*) FROM changed
$$;
REVOKE ALL ON FUNCTION acl.refresh_data_rights(timestamptz, bigint[]) FROM PUBLIC;

CREATE FUNCTION acl.refresh_rights_of_collections() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM acl.refresh_data_rights();
    RETURN NULL;
END $$;
CREATE TRIGGER refresh_data_rights AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON acl.collection
    FOR EACH STATEMENT EXECUTE FUNCTION acl.refresh_rights_of_collections();

SELECT acl.refresh_data_rights();

-- 3. OiDB's clients (the OiDB portal, a2p2, datamodels, third-party scripts) query the table `oidb` with
--    OiDB's column names (JMMC-OpenDev/oidb conf/oidb.sql); `FROM oidb` finds oidb.oidb (an unqualified
--    ADQL name matches a table of any schema). security_invoker: the caller's row-level security on
--    ivoa.obscore applies through the view (a plain view would read as its owner and show private rows).
-- Metadata in tap_schema/36_oidb.yaml.
CREATE SCHEMA oidb;
COMMENT ON SCHEMA oidb IS 'OiDB compatibility: the tables OiDB clients query, as views of the ObsCore table';
CREATE VIEW oidb.oidb WITH (security_invoker = true) AS
SELECT id, dataproduct_type, calib_level, target_name, obs_id, obs_collection, obs_creator_name, obs_release_date,
       obs_publisher_did, bib_reference, data_rights, access_url, access_format, access_estsize, s_ra, s_dec, s_fov,
       s_region, s_resolution, t_min, t_max, t_exptime, t_resolution, em_min, em_max, em_res_power, o_ucd, pol_states,
       facility_name, instrument_name, instrument_mode, quality_level, interferometer_stations, nb_channels, nb_vis,
       nb_vis2, nb_t3, keywords, subdate, progid, datapi, access_md5, dataproduct_category, proposal_subid, note,
       procsoft
FROM ivoa.obscore;
GRANT USAGE ON SCHEMA oidb TO @query_role@;
GRANT SELECT ON oidb.oidb TO @query_role@;
