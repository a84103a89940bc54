-- Product files (issue 16): which stored file holds each ObsCore granule, and who may fetch it.
--
-- The files themselves live in the product store (jmmctap.products.store: named by their SHA-256);
-- products.granule_file ties a granule to one of them. Whether the caller of a request may download a
-- file, or read a granule's links, is decided here, by SECURITY DEFINER functions evaluated with the
-- signed principal of the transaction (acl.verified_principal, sql/0025), as row-level security decides
-- what ADQL sees: the HTTP endpoints only ask. `at` is the moment the embargo is judged at: NULL for
-- now(), or the JMMCTAP_CLOCK setting (tests make time pass without sleeping).

CREATE SCHEMA products;
COMMENT ON SCHEMA products IS 'jmmctap internal state: product files of the ObsCore granules (never published)';
REVOKE ALL ON SCHEMA products FROM PUBLIC;
GRANT USAGE ON SCHEMA products TO @query_role@;

CREATE TABLE products.file (
    sha256     text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
    media_type text NOT NULL,
    stored_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE products.file IS 'files of the product store, by the SHA-256 of their content';

CREATE TABLE products.granule_file (
    granule_id bigint PRIMARY KEY REFERENCES ivoa.obscore (id) ON DELETE CASCADE,
    sha256     text NOT NULL REFERENCES products.file (sha256),
    file_name  text NOT NULL CHECK (file_name <> '' AND strpos(file_name, '/') = 0)
);
CREATE INDEX granule_file_sha256 ON products.granule_file (sha256);
COMMENT ON TABLE products.granule_file IS 'the stored file of each granule (one OIFITS file holds several granules)';
-- the oidb_datalink view reads it as the caller (security_invoker): row-level security of ivoa.obscore
-- then hides the files of rows the caller cannot see
GRANT SELECT ON products.granule_file TO @query_role@;

-- A collection's documentation page (#documentation link of its granules' DataLink).
CREATE TABLE products.collection_documentation (
    collection text PRIMARY KEY,
    url        text NOT NULL CHECK (url ~ '^https?://')
);

-- Whether the caller of this transaction may have a granule's file and links at `at`: released (no
-- obs_release_date, or one passed) in a collection it may see, or its data PI, a co-I the PI delegated to
-- (the same keys as the row-level security of ivoa.obscore), or a member of one of the collection's groups.
CREATE FUNCTION products.open_to_caller(o ivoa.obscore, at timestamptz, keys acl.pi_key[], hidden text[],
                                        groups text[]) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT ((o.obs_release_date IS NULL OR o.obs_release_date <= coalesce(at, now()))
            AND o.obs_collection <> ALL (hidden))
        OR ARRAY[ROW('pi', '', o.datapi), ROW('collection', o.obs_collection, o.datapi),
                 ROW('progid', o.progid, o.datapi),
                 ROW('proposal_subid', o.proposal_subid, o.datapi)]::acl.pi_key[] && keys
        OR EXISTS (SELECT 1 FROM acl.collection_group g
                   WHERE g.collection = o.obs_collection AND g.group_name = ANY (groups))
$$;

-- The granules named by their obs_publisher_did, with what their DataLink needs: `open` (may the caller
-- have them), their stored file, and their collection's documentation. Unknown DIDs give no row.
CREATE FUNCTION products.granule_links(dids text[], at timestamptz)
RETURNS TABLE (obs_publisher_did text, granule_id bigint, open boolean, obs_release_date timestamptz,
               access_url text, access_format text, access_estsize bigint, sha256 text, file_name text,
               size_bytes bigint, media_type text, documentation_url text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH caller AS (SELECT acl.pi_keys() AS keys, acl.hidden_collections() AS hidden,
                           (SELECT p.groups FROM acl.verified_principal() p) AS groups)
    SELECT o.obs_publisher_did, o.id, products.open_to_caller(o, at, c.keys, c.hidden, c.groups),
           o.obs_release_date, o.access_url, o.access_format, o.access_estsize, f.sha256, g.file_name,
           f.size_bytes, f.media_type, d.url
    FROM caller c, ivoa.obscore o
    LEFT JOIN products.granule_file g ON g.granule_id = o.id
    LEFT JOIN products.file f ON f.sha256 = g.sha256
    LEFT JOIN products.collection_documentation d ON d.collection = o.obs_collection
    WHERE o.obs_publisher_did = ANY (dids)
$$;

-- May the caller have the stored file `sha`? 'unknown' (no granule holds it), 'open' (every granule it
-- holds is open to the caller: a file is as closed as its most closed granule) or 'closed'.
CREATE FUNCTION products.file_access(sha text, at timestamptz) RETURNS TABLE (access text, file_names text[],
                                                                            media_type text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH caller AS (SELECT acl.pi_keys() AS keys, acl.hidden_collections() AS hidden,
                           (SELECT p.groups FROM acl.verified_principal() p) AS groups)
    SELECT CASE WHEN count(o.id) = 0 THEN 'unknown'
                WHEN bool_and(products.open_to_caller(o, at, c.keys, c.hidden, c.groups)) THEN 'open'
                ELSE 'closed' END,
           coalesce(array_agg(DISTINCT g.file_name) FILTER (WHERE o.id IS NOT NULL), '{}'),
           min(f.media_type)
    FROM caller c
    LEFT JOIN (products.granule_file g JOIN ivoa.obscore o ON o.id = g.granule_id
               JOIN products.file f ON f.sha256 = g.sha256) ON g.sha256 = sha
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA products FROM PUBLIC;
GRANT EXECUTE ON FUNCTION products.granule_links(text[], timestamptz), products.file_access(text, timestamptz)
    TO @query_role@;

-- OiDB's oidb_datalink table (JMMC-OpenDev/oidb conf/oidb_datalink.sql), as a view so that OiDB's clients'
-- queries keep working: one "Quick plot" row per granule with a stored file, as oidb-tools inserted them
-- (content_type 'application/png', which OiDB's web UI selects on; the DataLink endpoint says image/png).
-- The preview's URL is the granule's access_url with /products/{sha256}/{name} replaced by
-- /previews/{sha256}.png. security_invoker: ivoa.obscore's row-level security applies to the caller.
CREATE VIEW public.oidb_datalink WITH (security_invoker = true) AS
SELECT o.id,
       regexp_replace(o.access_url, '/products/[0-9a-f]{64}/[^/]*$', '') || '/previews/' || g.sha256 || '.png'
           AS access_url,
       NULL::text AS service_def, NULL::text AS error_message, 'Quick plot'::text AS description,
       '#preview'::text AS semantics, 'application/png'::text AS content_type, NULL::bigint AS content_length,
       o.subdate
FROM ivoa.obscore o JOIN products.granule_file g ON g.granule_id = o.id
WHERE o.access_url ~ '/products/[0-9a-f]{64}/[^/]*$';
