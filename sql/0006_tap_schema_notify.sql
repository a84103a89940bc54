-- Tell running servers that TAP_SCHEMA changed (an ingest, a new catalogue), so they reload it.
-- NOTIFY is delivered at commit, and repeated notifications of one transaction are merged.
CREATE FUNCTION jmmctap.notify_tap_schema_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('jmmctap_tap_schema', '');
    RETURN NULL;
END $$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['schemas', 'tables', 'columns', 'keys', 'key_columns'] LOOP
        EXECUTE format('CREATE TRIGGER notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE'
                       ' ON tap_schema.%I FOR EACH STATEMENT EXECUTE FUNCTION jmmctap.notify_tap_schema_changed()', t);
    END LOOP;
END $$;
