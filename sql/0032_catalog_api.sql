-- Catalog API (issue 17, JMMC's catalogAPI used by a2p2): tables whose rows their PIs edit over HTTP.
--
-- `jmmctap catalog expose SCHEMA.TABLE --key COL --pi-column COL` declares a catalog (catalog_api.catalog).
-- Reads run as the query role like TAP, so row-level security and table grants apply unchanged. Writes run
-- as the query role too, in a READ WRITE transaction carrying the caller's signed principal (sql/0025), and
-- can only go through the SECURITY DEFINER functions below: they check the principal, the caller's right to
-- each row (admin, PI named in a PI column, or co-I of such a PI), let PostgreSQL type and range-check every
-- value (jsonb_populate_record: the column types, typmods and CHECK constraints), and append one audit row
-- per changed row. A refused row raises, so the whole request changes nothing.
--
-- Admins are the members of the group `admin` (jmmctap.catalogs.ADMIN_GROUP): they change every row, add
-- rows for any PI, manage every PI's delegations and read the audit.

CREATE SCHEMA catalog_api;
COMMENT ON SCHEMA catalog_api IS 'jmmctap internal state: catalogs editable over HTTP and their audit (never published)';
REVOKE ALL ON SCHEMA catalog_api FROM PUBLIC;
GRANT USAGE ON SCHEMA catalog_api TO @query_role@;

CREATE TABLE catalog_api.catalog (
    table_name text PRIMARY KEY,                       -- TAP_SCHEMA table_name
    key_column text NOT NULL,                          -- PostgreSQL column names
    pi_columns text[] NOT NULL CHECK (cardinality(pi_columns) >= 1),
    exposed_at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT ON catalog_api.catalog TO @query_role@;  -- which tables are catalogs is no secret

-- Every change made through the API, one row per changed catalog row or delegation. Append-only.
CREATE TABLE catalog_api.audit (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    changed_at timestamptz NOT NULL DEFAULT now(),  -- the transaction's time: one request, one transaction
    user_name  text NOT NULL,
    table_name text NOT NULL,
    row_key    text,                                -- NULL for a delegation
    action     text NOT NULL CHECK (action IN ('update', 'insert', 'delegate', 'undelegate')),
    old_values jsonb,                               -- the columns that changed, before (NULL: an insert)
    new_values jsonb NOT NULL                       -- and after (an insert: every column given)
);
CREATE INDEX ON catalog_api.audit (table_name, row_key);

CREATE FUNCTION catalog_api.refuse_audit_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the catalog audit is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON catalog_api.audit
    FOR EACH ROW EXECUTE FUNCTION catalog_api.refuse_audit_change();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON catalog_api.audit
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_api.refuse_audit_change();

-- A delegation may be limited to one catalog (a2p2's "catalogs"). Such a delegation gives no right on
-- ivoa.obscore: acl.pi_keys() is redefined below to skip it.
ALTER TABLE acl.delegation ADD COLUMN catalog text;
ALTER TABLE acl.delegation DROP CONSTRAINT delegation_check;
ALTER TABLE acl.delegation ADD CONSTRAINT delegation_one_scope
    CHECK (num_nonnulls(collection, progid, proposal_subid, catalog) <= 1);
DROP INDEX acl.delegation_scope;
CREATE UNIQUE INDEX delegation_scope ON acl.delegation (pi, coi, collection, progid, proposal_subid, catalog)
    NULLS NOT DISTINCT;

CREATE OR REPLACE FUNCTION acl.pi_keys() RETURNS acl.pi_key[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH me AS (SELECT p.user_name FROM acl.verified_principal() p WHERE p.user_name IS NOT NULL),
    grants AS (SELECT me.user_name AS pi, 'pi' AS kind, '' AS scope FROM me
               UNION SELECT d.pi, CASE WHEN d.collection IS NOT NULL THEN 'collection'
                                       WHEN d.progid IS NOT NULL THEN 'progid'
                                       WHEN d.proposal_subid IS NOT NULL THEN 'proposal_subid' ELSE 'pi' END,
                            coalesce(d.collection, d.progid, d.proposal_subid, '')
                     FROM acl.delegation d JOIN me ON d.coi = me.user_name
                     WHERE d.catalog IS NULL)
    SELECT coalesce(array_agg(DISTINCT ROW(g.kind, g.scope, n.name)::acl.pi_key), '{}')
    FROM grants g CROSS JOIN LATERAL (SELECT g.pi AS name UNION SELECT a.datapi FROM acl.data_pi a
                                      WHERE a.user_name = g.pi) n
$$;

-- The caller, refused when anonymous.
CREATE FUNCTION catalog_api.caller(OUT user_name text, OUT admin boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    who record;
BEGIN
    SELECT * INTO who FROM acl.verified_principal();
    IF who.user_name IS NULL THEN
        RAISE EXCEPTION 'log in to do this' USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    user_name := who.user_name;
    admin := 'admin' = ANY (who.groups);  -- jmmctap.catalogs.ADMIN_GROUP
END $$;

-- The PI names (upper case) whose rows of catalog `catalog_name` the caller may change: its user name and data
-- PI names (acl.data_pi), and those of the PIs who delegated it all their rows or those of this catalog.
CREATE FUNCTION catalog_api.writer_names(catalog_name text) RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH me AS (SELECT c.user_name FROM catalog_api.caller() c),
    pis AS (SELECT me.user_name AS pi FROM me
            UNION SELECT d.pi FROM acl.delegation d JOIN me ON d.coi = me.user_name
            WHERE d.catalog = $1 OR num_nonnulls(d.collection, d.progid, d.proposal_subid, d.catalog) = 0)
    SELECT coalesce(array_agg(DISTINCT upper(n.name)), '{}')
    FROM pis CROSS JOIN LATERAL (SELECT pis.pi AS name UNION SELECT a.datapi FROM acl.data_pi a
                                 WHERE a.user_name = pis.pi) n
$$;

-- The PI names of a row: its PI columns, each split on '/' (JMMC writes several PIs as "A / B").
CREATE FUNCTION catalog_api.row_pis(row_values jsonb, pi_columns text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(array_agg(btrim(n)) FILTER (WHERE btrim(n) <> ''), '{}')
    FROM unnest(pi_columns) c, regexp_split_to_table(coalesce(row_values ->> c, ''), '/') n
$$;

-- Whether a row names one of `names` (upper case) as its PI.
CREATE FUNCTION catalog_api.owned_by(row_values jsonb, pi_columns text[], names text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM unnest(catalog_api.row_pis($1, $2)) p WHERE upper(p) = ANY ($3))
$$;

-- The catalog `catalog_name` as the caller may see it; raises no_data_found for a table that is not one.
CREATE FUNCTION catalog_api.visible_catalog(catalog_name text) RETURNS catalog_api.catalog
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    found_catalog catalog_api.catalog;
BEGIN
    SELECT * INTO found_catalog FROM catalog_api.catalog c WHERE c.table_name = catalog_name;
    IF found_catalog.table_name IS NULL OR acl.relation_of(catalog_name) IS NULL
       OR NOT acl.may_read_table(catalog_name) THEN
        RAISE EXCEPTION 'no catalog named %', catalog_name USING ERRCODE = 'no_data_found';
    END IF;
    RETURN found_catalog;
END $$;

-- Update (adding = false: each object names its row by the key column) or insert (adding = true) rows of a
-- catalog, for the caller; returns the keys of the rows, in order. Object keys are PostgreSQL column names.
CREATE FUNCTION catalog_api.change_rows(catalog_name text, changes jsonb, adding boolean) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me record;
    cat catalog_api.catalog := catalog_api.visible_catalog(catalog_name);
    rel regclass := acl.relation_of(catalog_name);
    names text[];
    item jsonb;
    cols text[];
    bad text;
    key_defaults boolean;
    old_row jsonb;
    new_row jsonb;
    keys jsonb := '[]';
    n integer := 0;
BEGIN
    SELECT * INTO me FROM catalog_api.caller();
    names := catalog_api.writer_names(catalog_name);
    IF jsonb_typeof(changes) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'the body must be a JSON array of rows' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT a.atthasdef OR a.attidentity <> '' INTO key_defaults FROM pg_attribute a
    WHERE a.attrelid = rel AND a.attname = cat.key_column AND NOT a.attisdropped;
    FOR item IN SELECT value FROM jsonb_array_elements(changes) LOOP
        n := n + 1;
        IF jsonb_typeof(item) IS DISTINCT FROM 'object' THEN
            RAISE EXCEPTION 'row % is not a JSON object', n USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF adding AND key_defaults THEN
            item := item - cat.key_column;  -- a generated key: given values are ignored (a2p2 addRows)
        END IF;
        SELECT array_agg(k ORDER BY k) INTO cols FROM jsonb_object_keys(item) k
        WHERE k <> cat.key_column OR adding;
        SELECT k INTO bad FROM unnest(cols) k WHERE NOT EXISTS (
            SELECT 1 FROM pg_attribute a WHERE a.attrelid = rel AND a.attname = k AND a.attnum > 0
            AND NOT a.attisdropped AND a.attgenerated = '' AND a.attidentity <> 'a') LIMIT 1;
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'row %: % has no writable column %', n, catalog_name, bad
                USING ERRCODE = 'undefined_column';
        END IF;
        IF coalesce(cardinality(cols), 0) = 0 THEN
            RAISE EXCEPTION 'row %: no value to write', n USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF adding THEN
            IF NOT key_defaults AND coalesce(item -> cat.key_column, 'null') = 'null' THEN
                RAISE EXCEPTION 'row %: % is required', n, cat.key_column USING ERRCODE = 'not_null_violation';
            END IF;
            old_row := NULL;
            EXECUTE format('INSERT INTO %s AS t (%s) SELECT %s FROM jsonb_populate_record(NULL::%s, $1) r'
                           ' RETURNING to_jsonb(t)', rel,
                           (SELECT string_agg(quote_ident(k), ', ') FROM unnest(cols) k),
                           (SELECT string_agg('r.' || quote_ident(k), ', ') FROM unnest(cols) k), rel)
                INTO new_row USING item;
        ELSE
            IF coalesce(item -> cat.key_column, 'null') = 'null' THEN
                RAISE EXCEPTION 'row %: the key % is missing', n, cat.key_column
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            EXECUTE format('SELECT to_jsonb(t) FROM %s t, jsonb_populate_record(NULL::%s, $1) r'
                           ' WHERE t.%I = r.%I FOR UPDATE OF t', rel, rel, cat.key_column, cat.key_column)
                INTO old_row USING item;
            IF old_row IS NULL THEN
                RAISE EXCEPTION 'no row of % has % = %', catalog_name, cat.key_column, item ->> cat.key_column
                    USING ERRCODE = 'no_data_found';
            END IF;
            IF NOT me.admin AND NOT catalog_api.owned_by(old_row, cat.pi_columns, names) THEN
                RAISE EXCEPTION 'row % = % belongs to PI %: only they, the co-Is they delegated and admins may change it',
                    cat.key_column, item ->> cat.key_column,
                    coalesce(nullif(array_to_string(catalog_api.row_pis(old_row, cat.pi_columns), ' / '), ''), '(none)')
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            EXECUTE format('UPDATE %s AS t SET %s FROM jsonb_populate_record(NULL::%s, $1) r'
                           ' WHERE t.%I = r.%I RETURNING to_jsonb(t)', rel,
                           (SELECT string_agg(format('%I = r.%I', k, k), ', ') FROM unnest(cols) k), rel,
                           cat.key_column, cat.key_column)
                INTO new_row USING item;
        END IF;
        IF NOT me.admin AND NOT catalog_api.owned_by(new_row, cat.pi_columns, names) THEN
            RAISE EXCEPTION 'row %: % must name you or a PI who delegated you this catalog (only admins write rows of other PIs)',
                n, array_to_string(cat.pi_columns, ' or ') USING ERRCODE = 'insufficient_privilege';
        END IF;
        INSERT INTO catalog_api.audit (user_name, table_name, row_key, action, old_values, new_values)
        VALUES (me.user_name, catalog_name, new_row ->> cat.key_column, CASE WHEN adding THEN 'insert' ELSE 'update' END,
                CASE WHEN NOT adding THEN (SELECT coalesce(jsonb_object_agg(k, old_row -> k), '{}') FROM unnest(cols) k
                                           WHERE old_row -> k IS DISTINCT FROM new_row -> k) END,
                (SELECT coalesce(jsonb_object_agg(k, new_row -> k), '{}') FROM unnest(cols) k
                 WHERE old_row IS NULL OR old_row -> k IS DISTINCT FROM new_row -> k));
        keys := keys || jsonb_build_array(new_row -> cat.key_column);
    END LOOP;
    RETURN keys;
END $$;

-- The user whose delegations a caller designates by `pi_name` (NULL or '': itself; its user name or one of its
-- data PI names: itself; another PI: admins only, by user name or by a data PI name only one user has).
CREATE FUNCTION catalog_api.delegating_user(pi_name text) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me record;
    found_user text;
BEGIN
    SELECT * INTO me FROM catalog_api.caller();
    IF coalesce(pi_name, '') = '' OR upper(pi_name) = upper(me.user_name) OR EXISTS (
            SELECT 1 FROM acl.data_pi a WHERE a.user_name = me.user_name AND upper(a.datapi) = upper(pi_name)) THEN
        RETURN me.user_name;
    END IF;
    IF NOT me.admin THEN
        RAISE EXCEPTION 'only admins may see or change the delegations of another PI (%)', pi_name
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT min(a.user_name) INTO found_user FROM acl.data_pi a WHERE upper(a.datapi) = upper(pi_name)
    HAVING count(DISTINCT a.user_name) = 1;
    RETURN coalesce(found_user, pi_name);
END $$;

-- Add or remove the delegation of catalog `catalog_name` (a TAP_SCHEMA table_name) from a PI to co-I `coi`;
-- true when something changed.
CREATE FUNCTION catalog_api.change_delegation(pi_name text, coi text, catalog_name text, adding boolean)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me record;
    pi_user text := catalog_api.delegating_user(pi_name);
    changed integer;
BEGIN
    SELECT * INTO me FROM catalog_api.caller();
    PERFORM catalog_api.visible_catalog(catalog_name);
    IF coalesce(btrim(coi), '') = '' OR coi = pi_user THEN
        RAISE EXCEPTION 'a delegation needs a co-I other than the PI' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF adding THEN
        INSERT INTO acl.delegation (pi, coi, catalog) VALUES (pi_user, coi, catalog_name) ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM acl.delegation d WHERE d.pi = pi_user AND d.coi = $2 AND d.catalog = catalog_name;
    END IF;
    GET DIAGNOSTICS changed = ROW_COUNT;
    IF changed > 0 THEN
        INSERT INTO catalog_api.audit (user_name, table_name, action, new_values)
        VALUES (me.user_name, catalog_name, CASE WHEN adding THEN 'delegate' ELSE 'undelegate' END,
                jsonb_build_object('pi', pi_user, 'coi', coi));
    END IF;
    RETURN changed > 0;
END $$;

-- The catalog delegations of a PI (see delegating_user): one row per catalog with its co-Is. A delegation of
-- all the PI's rows (`jmmctap delegation add PI COI`) counts for every catalog and is listed as catalog '*'.
CREATE FUNCTION catalog_api.delegations_of(pi_name text)
RETURNS TABLE (pi text, catalog text, cois text[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT d.pi, coalesce(d.catalog, '*'), array_agg(d.coi ORDER BY d.coi)
    FROM acl.delegation d
    WHERE d.pi = catalog_api.delegating_user($1)
      AND (d.catalog IS NOT NULL OR num_nonnulls(d.collection, d.progid, d.proposal_subid) = 0)
    GROUP BY d.pi, d.catalog ORDER BY 2
$$;

-- The login of each PI name (a user of that name, or the one user with that data PI name), and its co-Is for
-- this catalog when the caller is that user or an admin (JMMC's /catalogs/accounts/{name}).
CREATE FUNCTION catalog_api.pi_accounts(catalog_name text, pi_names text[])
RETURNS TABLE (name text, login text, cois text[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH me AS (SELECT * FROM catalog_api.caller()),
    logins AS (
        SELECT p.name, coalesce(
            (SELECT u.name FROM jmmctap_accounts.users u WHERE upper(u.name) = upper(p.name) LIMIT 1),
            (SELECT min(a.user_name) FROM acl.data_pi a WHERE upper(a.datapi) = upper(p.name)
             HAVING count(DISTINCT a.user_name) = 1)) AS login
        FROM unnest($2) AS p(name))
    SELECT l.name, l.login,
           CASE WHEN l.login = me.user_name OR me.admin THEN
               ARRAY(SELECT DISTINCT d.coi FROM acl.delegation d WHERE d.pi = l.login
                     AND (d.catalog = $1 OR num_nonnulls(d.collection, d.progid, d.proposal_subid, d.catalog) = 0)
                     ORDER BY d.coi) END
    FROM logins l, me ORDER BY l.name
$$;

-- The audit, newest first, for admins (of one catalog when named).
CREATE FUNCTION catalog_api.audit_rows(catalog_name text, max_rows integer)
RETURNS SETOF catalog_api.audit
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT (SELECT c.admin FROM catalog_api.caller() c) THEN
        RAISE EXCEPTION 'only admins may read the catalog audit' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN QUERY SELECT * FROM catalog_api.audit a WHERE $1 IS NULL OR a.table_name = $1
                 ORDER BY a.id DESC LIMIT max_rows;
END $$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA catalog_api FROM PUBLIC;
GRANT EXECUTE ON FUNCTION catalog_api.change_rows(text, jsonb, boolean),
    catalog_api.change_delegation(text, text, text, boolean), catalog_api.delegations_of(text),
    catalog_api.pi_accounts(text, text[]), catalog_api.audit_rows(text, integer) TO @query_role@;
