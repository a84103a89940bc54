-- Access control (issue 15): who may see which ivoa.obscore rows and which tables, decided by PostgreSQL.
--
-- Every user query runs as the query role in a READ ONLY transaction that also sets the GUC
-- jmmctap.principal to a token signed by the server (HMAC-SHA256 with acl.signing_key, which the query
-- role cannot read): "v1:<backend pid>:<unix time>:<hex user>:<hex group>,...:<hex hmac>", '' for
-- anonymous. acl.verified_principal() checks the signature, the backend and the time, so a value set
-- by anything else than the server (set_config reached from a query) is refused, and a token seen on
-- one backend cannot be replayed on another or a minute later. Row-level security policies call the
-- SECURITY DEFINER functions below; each runs once per query (an InitPlan), not once per row.
-- Users and groups are names (text): the accounts themselves live elsewhere.

CREATE SCHEMA acl;
COMMENT ON SCHEMA acl IS 'jmmctap internal state: collections, data PIs, delegations, table grants (never published)';
REVOKE ALL ON SCHEMA acl FROM PUBLIC;
GRANT USAGE ON SCHEMA acl TO @query_role@;  -- to call the policy functions; no table is readable

-- OiDB collections (modules/collection.xqm): a private one is visible to its groups only, plus data PIs.
CREATE TABLE acl.collection (
    name           text PRIMARY KEY,
    private        boolean NOT NULL DEFAULT false,
    embargo_months integer NOT NULL DEFAULT 24 CHECK (embargo_months >= 0),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON COLUMN acl.collection.embargo_months IS 'proprietary period of the files after the observation (OiDB: 2 years)';

CREATE TABLE acl.collection_group (
    collection text NOT NULL REFERENCES acl.collection (name) ON DELETE CASCADE ON UPDATE CASCADE,
    group_name text NOT NULL,
    PRIMARY KEY (collection, group_name)
);

-- The names a user has in ivoa.obscore.datapi (OiDB's "pi-aliases"); a user's own name always counts.
CREATE TABLE acl.data_pi (
    user_name text NOT NULL,
    datapi    text NOT NULL,
    PRIMARY KEY (user_name, datapi)
);

-- A data PI lets a co-I see the PI's rows: all of them, or those of one collection, progid or proposal_subid.
CREATE TABLE acl.delegation (
    pi             text NOT NULL,
    coi            text NOT NULL,
    collection     text,
    progid         text,
    proposal_subid text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (num_nonnulls(collection, progid, proposal_subid) <= 1),
    CHECK (pi <> coi)
);
CREATE UNIQUE INDEX delegation_scope ON acl.delegation (pi, coi, collection, progid, proposal_subid) NULLS NOT DISTINCT;
CREATE INDEX delegation_coi ON acl.delegation (coi);

-- Tables (TAP_SCHEMA table_name) readable by the listed groups only. Kept when the table is dropped, so
-- that a table ingested again under the same name is private from its first moment.
CREATE TABLE acl.table_grant (
    table_name text NOT NULL,
    group_name text NOT NULL,
    PRIMARY KEY (table_name, group_name)
);

-- HMAC key of the principal tokens, with its inner and outer pads (RFC 2104, SHA-256 block of 64 bytes).
CREATE TABLE acl.signing_key (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    key       bytea NOT NULL,
    inner_pad bytea NOT NULL,
    outer_pad bytea NOT NULL
);

DO $$
DECLARE
    -- gen_random_uuid() draws from pg_strong_random: two of them give 244 random bits
    k bytea := decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex');
    block bytea;
    ipad bytea;
    opad bytea;
BEGIN
    block := k || decode(repeat('00', 64 - length(k)), 'hex');
    ipad := block;
    opad := block;
    FOR i IN 0..63 LOOP
        ipad := set_byte(ipad, i, get_byte(block, i) # 54);  -- 0x36
        opad := set_byte(opad, i, get_byte(block, i) # 92);  -- 0x5c
    END LOOP;
    INSERT INTO acl.signing_key (key, inner_pad, outer_pad) VALUES (k, ipad, opad);
END $$;

CREATE TYPE acl.pi_key AS (kind text, scope text, datapi text);

-- The caller of the current transaction: (NULL, {}) when anonymous or when no principal was set.
CREATE FUNCTION acl.verified_principal(OUT user_name text, OUT groups text[])
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    token text := current_setting('jmmctap.principal', true);
    parts text[];
    signing acl.signing_key;
BEGIN
    groups := '{}';
    IF token IS NULL OR token = '' THEN
        RETURN;
    END IF;
    parts := string_to_array(token, ':');
    SELECT * INTO signing FROM acl.signing_key;
    IF cardinality(parts) <> 6 OR parts[1] <> 'v1' OR parts[6] IS DISTINCT FROM encode(
            sha256(signing.outer_pad || sha256(signing.inner_pad
                   || convert_to(array_to_string(parts[1:5], ':'), 'UTF8'))), 'hex') THEN
        RAISE EXCEPTION 'the principal of this transaction is not valid' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF parts[2] <> pg_backend_pid()::text OR abs(extract(epoch FROM now()) - parts[3]::numeric) > 60 THEN  -- acl.principal.MAX_SKEW_S
        RAISE EXCEPTION 'the principal of this transaction was signed for another session or time'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    user_name := convert_from(decode(parts[4], 'hex'), 'UTF8');
    IF parts[5] <> '' THEN
        groups := ARRAY(SELECT convert_from(decode(g, 'hex'), 'UTF8') FROM unnest(string_to_array(parts[5], ',')) g);
    END IF;
END $$;

-- Private collections none of whose groups the caller is in (rows there need a data PI right).
CREATE FUNCTION acl.hidden_collections() RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(array_agg(c.name), '{}') FROM acl.collection c, acl.verified_principal() p
    WHERE c.private AND NOT EXISTS (SELECT 1 FROM acl.collection_group g
                                    WHERE g.collection = c.name AND g.group_name = ANY (p.groups))
$$;

-- What the caller may see of the private collections as a data PI or co-I, as (kind, scope, datapi) keys:
-- ('pi', '', name) for the caller's own names and those of PIs who delegated all their rows, and
-- ('collection' | 'progid' | 'proposal_subid', value, name) for a delegation limited to one of them.
-- A row matches when one of its own keys is in the list (the policy below); no key has a NULL.
CREATE FUNCTION acl.pi_keys() RETURNS acl.pi_key[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH me AS (SELECT p.user_name FROM acl.verified_principal() p WHERE p.user_name IS NOT NULL),
    grants AS (SELECT me.user_name AS pi, 'pi' AS kind, '' AS scope FROM me
               UNION SELECT d.pi, CASE WHEN d.collection IS NOT NULL THEN 'collection'
                                       WHEN d.progid IS NOT NULL THEN 'progid'
                                       WHEN d.proposal_subid IS NOT NULL THEN 'proposal_subid' ELSE 'pi' END,
                            coalesce(d.collection, d.progid, d.proposal_subid, '')
                     FROM acl.delegation d JOIN me ON d.coi = me.user_name)
    SELECT coalesce(array_agg(DISTINCT ROW(g.kind, g.scope, n.name)::acl.pi_key), '{}')
    FROM grants g CROSS JOIN LATERAL (SELECT g.pi AS name UNION SELECT a.datapi FROM acl.data_pi a
                                      WHERE a.user_name = g.pi) n
$$;

-- Granted tables none of whose groups the caller is in, and what goes with them in TAP_SCHEMA.
CREATE FUNCTION acl.hidden_tables() RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(array_agg(DISTINCT t.table_name), '{}') FROM acl.table_grant t, acl.verified_principal() p
    WHERE NOT EXISTS (SELECT 1 FROM acl.table_grant g WHERE g.table_name = t.table_name AND g.group_name = ANY (p.groups))
$$;

CREATE FUNCTION acl.may_read_table(name text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT NOT (name = ANY (acl.hidden_tables()))
$$;

CREATE FUNCTION acl.hidden_keys() RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(array_agg(k.key_id), '{}') FROM tap_schema.keys k, (SELECT acl.hidden_tables() AS h) x
    WHERE k.from_table = ANY (x.h) OR k.target_table = ANY (x.h)
$$;

-- Schemas whose every published table is hidden (an empty schema of a team would tell its name).
CREATE FUNCTION acl.hidden_schemas() RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(array_agg(s.schema_name), '{}')
    FROM (SELECT t.schema_name FROM tap_schema.tables t, (SELECT acl.hidden_tables() AS h) x
          GROUP BY t.schema_name HAVING bool_and(t.table_name = ANY (x.h))) s
$$;

-- ivoa.obscore: a row of a private collection needs a group of the collection, or the caller being its data
-- PI (datapi), or a delegation of that PI. Policies are RESTRICTIVE (a table grant may add another); the
-- permissive one only lets them decide. A policy keeps the planner from using an index for any condition
-- that is not LEAKPROOF: RLS is enabled only while a private collection exists (acl.protect_table), and
-- `db init` declares the functions of a cone search leakproof when it can (jmmctap.acl.leakproof).
CREATE POLICY jmmctap_rows ON ivoa.obscore FOR SELECT TO PUBLIC USING (true);
CREATE POLICY jmmctap_private_collections ON ivoa.obscore AS RESTRICTIVE FOR SELECT TO PUBLIC USING (
    obs_collection <> ALL ((SELECT acl.hidden_collections())::text[])
    OR ARRAY[ROW('pi', '', datapi), ROW('collection', obs_collection, datapi), ROW('progid', progid, datapi),
             ROW('proposal_subid', proposal_subid, datapi)]::acl.pi_key[] && (SELECT acl.pi_keys())::acl.pi_key[]
);

-- TAP_SCHEMA shows the caller only what it may query (nothing about a table granted to other groups).
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['tables', 'columns', 'column_origins', 'table_params', 'column_groups'] LOOP
        EXECUTE format('ALTER TABLE tap_schema.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY table_grants ON tap_schema.%I FOR SELECT TO PUBLIC'
                       ' USING (table_name <> ALL ((SELECT acl.hidden_tables())::text[]))', t);
    END LOOP;
END $$;
ALTER TABLE tap_schema.schemas ENABLE ROW LEVEL SECURITY;
CREATE POLICY table_grants ON tap_schema.schemas FOR SELECT TO PUBLIC
    USING (schema_name <> ALL ((SELECT acl.hidden_schemas())::text[]));
ALTER TABLE tap_schema.keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY table_grants ON tap_schema.keys FOR SELECT TO PUBLIC
    USING (from_table <> ALL ((SELECT acl.hidden_tables())::text[]) AND target_table <> ALL ((SELECT acl.hidden_tables())::text[]));
ALTER TABLE tap_schema.key_columns ENABLE ROW LEVEL SECURITY;
CREATE POLICY table_grants ON tap_schema.key_columns FOR SELECT TO PUBLIC
    USING (key_id <> ALL ((SELECT acl.hidden_keys())::text[]));

-- The PostgreSQL table of a TAP_SCHEMA table_name (split as tapschema.model does: quoted parts keep their
-- text, unquoted ones their case); NULL when it does not exist.
CREATE FUNCTION acl.relation_of(name text) RETURNS regclass
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    parts text[];
    db_schema text;
BEGIN
    parts := ARRAY(SELECT CASE WHEN m[1] LIKE '"%' THEN replace(substr(m[1], 2, length(m[1]) - 2), '""', '"')
                               ELSE m[1] END
                   FROM regexp_matches(name, '("(?:[^"]|"")*"|[^."]+)', 'g') AS m);
    IF cardinality(parts) = 0 THEN
        RETURN NULL;
    END IF;
    db_schema := CASE WHEN cardinality(parts) > 1 THEN parts[cardinality(parts) - 1]
                      ELSE (SELECT t.schema_name FROM tap_schema.tables t WHERE t.table_name = name) END;
    RETURN (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = db_schema AND c.relname = parts[cardinality(parts)] AND c.relkind IN ('r', 'p'));
END $$;

-- Make a table's row-level security match acl: a granted table filters every row by the caller's groups;
-- ivoa.obscore filters rows while a private collection exists. Runs as the owner (DDL only when needed:
-- rewriting catalog rows each time would make concurrent ingests collide).
CREATE FUNCTION acl.protect_table(name text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    rel regclass := acl.relation_of(name);
    granted boolean := EXISTS (SELECT 1 FROM acl.table_grant g WHERE g.table_name = name);
    needed boolean;
    has_grant_policy boolean;
BEGIN
    IF rel IS NULL THEN
        RETURN;
    END IF;
    needed := granted OR (rel = 'ivoa.obscore'::regclass AND EXISTS (SELECT 1 FROM acl.collection WHERE private));
    has_grant_policy := EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = rel AND polname = 'jmmctap_table_grant');
    IF granted AND NOT has_grant_policy THEN
        EXECUTE format('CREATE POLICY jmmctap_table_grant ON %s AS RESTRICTIVE FOR SELECT TO PUBLIC'
                       ' USING ((SELECT acl.may_read_table(%L)))', rel, name);
    ELSIF has_grant_policy AND NOT granted THEN
        EXECUTE format('DROP POLICY jmmctap_table_grant ON %s', rel);
    END IF;
    IF needed AND NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = rel AND polname = 'jmmctap_rows') THEN
        EXECUTE format('CREATE POLICY jmmctap_rows ON %s FOR SELECT TO PUBLIC USING (true)', rel);
    END IF;
    IF needed AND NOT (SELECT c.relrowsecurity FROM pg_class c WHERE c.oid = rel) THEN
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', rel);
    ELSIF NOT needed AND (SELECT c.relrowsecurity FROM pg_class c WHERE c.oid = rel)
          AND EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = rel AND polname = 'jmmctap_rows') THEN
        EXECUTE format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', rel);  -- only where acl enabled it
    END IF;
END $$;

-- Rows every caller may see, for tap_schema.tables.nrows: a count never includes rows some caller cannot see.
CREATE FUNCTION acl.public_row_count(db_schema text, db_table text) RETURNS bigint
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n bigint;
BEGIN
    IF db_schema = 'ivoa' AND db_table = 'obscore' THEN
        SELECT count(*) INTO n FROM ivoa.obscore
        WHERE obs_collection <> ALL (ARRAY(SELECT c.name FROM acl.collection c WHERE c.private));
        RETURN n;
    END IF;
    EXECUTE format('SELECT count(*) FROM %I.%I', db_schema, db_table) INTO n;
    RETURN n;
END $$;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA acl FROM PUBLIC;
GRANT EXECUTE ON FUNCTION acl.hidden_collections(), acl.pi_keys(), acl.hidden_tables(),
    acl.may_read_table(text), acl.hidden_keys(), acl.hidden_schemas() TO @query_role@;

-- Keep the policies in step: a (re)published table, a grant, a collection change.
CREATE FUNCTION acl.protect_published_table() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM acl.protect_table(NEW.table_name);
    RETURN NULL;
END $$;
CREATE TRIGGER protect AFTER INSERT OR UPDATE OF table_name, schema_name ON tap_schema.tables
    FOR EACH ROW EXECUTE FUNCTION acl.protect_published_table();

CREATE FUNCTION acl.protect_granted_table() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM acl.protect_table(CASE WHEN TG_OP = 'DELETE' THEN OLD.table_name ELSE NEW.table_name END);
    RETURN NULL;
END $$;
CREATE TRIGGER protect AFTER INSERT OR UPDATE OR DELETE ON acl.table_grant
    FOR EACH ROW EXECUTE FUNCTION acl.protect_granted_table();

CREATE FUNCTION acl.protect_collections() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM acl.protect_table('ivoa.obscore');
    UPDATE tap_schema.tables t SET nrows = c.n FROM (SELECT acl.public_row_count('ivoa', 'obscore') AS n) c
    WHERE t.table_name = 'ivoa.obscore' AND t.nrows IS DISTINCT FROM c.n;
    RETURN NULL;
END $$;
CREATE TRIGGER protect AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON acl.collection
    FOR EACH STATEMENT EXECUTE FUNCTION acl.protect_collections();

-- A grant changes what servers publish to whom: bump the TAP_SCHEMA generation and tell them (sql/0006, 0019).
CREATE CONSTRAINT TRIGGER bump_generation AFTER INSERT OR UPDATE OR DELETE ON acl.table_grant
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION jmmctap.bump_tap_schema_generation();
CREATE TRIGGER notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON acl.table_grant
    FOR EACH STATEMENT EXECUTE FUNCTION jmmctap.notify_tap_schema_changed();

-- Async jobs run for their owner's groups as they were at creation (issue 15, owned jobs).
ALTER TABLE uws.job ADD COLUMN owner_groups text[] NOT NULL DEFAULT '{}';

-- scircle(centre, radius) for crossmatches (jmmctap.adql.geometry.point_in_circle): NULL instead of an error
-- for a radius outside [0, pi/2], so that it never raises one and may be declared LEAKPROOF
-- (jmmctap.acl.leakproof): a crossmatch then still probes the GiST index of a table under row-level security.
CREATE FUNCTION jmmctap_adql.join_circle(centre public.spoint, radius double precision) RETURNS public.scircle
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE COST 1 AS $$
BEGIN
    IF radius >= 0 AND radius <= pi() / 2 THEN  -- NaN fails the second test
        RETURN public.scircle(centre, radius);
    END IF;
    RETURN NULL;
END $$;
GRANT EXECUTE ON FUNCTION jmmctap_adql.join_circle(public.spoint, double precision) TO @query_role@;
