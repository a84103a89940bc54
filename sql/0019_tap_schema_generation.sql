-- TAP_SCHEMA generation: a counter that every transaction changing TAP_SCHEMA bumps once, at commit.
-- A server compares it with the generation of its copy before each query (one cheap read), so a
-- query sent after an ingest returned sees the new table whatever the NOTIFY timing (sql/0006).
-- Deferred (constraint) triggers take the counter's row lock only at commit: concurrent ingests
-- queue for a moment there and cannot deadlock on it (nothing else is locked after it).
CREATE TABLE tap_schema.generation (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    generation bigint NOT NULL
);
COMMENT ON TABLE tap_schema.generation IS 'jmmctap: bumped at commit by each TAP_SCHEMA change (not published)';
INSERT INTO tap_schema.generation (singleton, generation) VALUES (true, 1);
GRANT SELECT ON tap_schema.generation TO @query_role@;

CREATE FUNCTION jmmctap.bump_tap_schema_generation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- a deferred row trigger fires once per changed row: bump once per transaction
    IF coalesce(current_setting('jmmctap.generation_bumped', true), '') <> txid_current()::text THEN
        PERFORM set_config('jmmctap.generation_bumped', txid_current()::text, true);
        UPDATE tap_schema.generation SET generation = generation + 1;
    END IF;
    RETURN NULL;
END $$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['schemas', 'tables', 'columns', 'keys', 'key_columns'] LOOP
        EXECUTE format('CREATE CONSTRAINT TRIGGER bump_generation AFTER INSERT OR UPDATE OR DELETE'
                       ' ON tap_schema.%I DEFERRABLE INITIALLY DEFERRED FOR EACH ROW'
                       ' EXECUTE FUNCTION jmmctap.bump_tap_schema_generation()', t);
        EXECUTE format('CREATE TRIGGER bump_generation_truncate AFTER TRUNCATE'
                       ' ON tap_schema.%I FOR EACH STATEMENT EXECUTE FUNCTION jmmctap.bump_tap_schema_generation()', t);
    END LOOP;
END $$;

-- What `jmmctap db init` last set up (query role settings, declarations digest): every CLI command
-- runs the idempotent init, and redoing grants and ALTER ROLE each time made concurrent ingests
-- fail with "tuple concurrently updated".
CREATE TABLE jmmctap.bootstrap_state (
    name  text PRIMARY KEY,
    value text NOT NULL
);
