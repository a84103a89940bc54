-- jmmctap base layout: internal state, the published catalogue schemas, TAP_SCHEMA 1.1.
-- Applied by `jmmctap db init` as the owner role; @query_role@ is the SELECT-only role.

-- Internal, never published: the query role gets no privilege here.
CREATE SCHEMA jmmctap;
COMMENT ON SCHEMA jmmctap IS 'jmmctap internal state: schema version, ingest log, secrets (never published)';

CREATE TABLE jmmctap.schema_version (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE jmmctap.secret (
    name  text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE jmmctap.ingest_log (
    id          bigserial PRIMARY KEY,
    table_name  text NOT NULL,
    mode        text NOT NULL CHECK (mode IN ('create', 'replace', 'append')),
    files       text[] NOT NULL,
    checksums   text[] NOT NULL,
    n_rows      bigint NOT NULL,
    os_user     text NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON jmmctap.ingest_log (table_name, finished_at DESC);

-- The published catalogue schemas (tables come with later migrations and ingests).
CREATE SCHEMA obsportal;
CREATE SCHEMA ivoa;
CREATE SCHEMA jsdc;
CREATE SCHEMA jmdc;
CREATE SCHEMA badcal;
CREATE SCHEMA spica;

-- TAP_SCHEMA 1.1 (TAP 1.1 section 4), plus `nrows` in tables (VODataService 1.2 nrows, shown by TOPCAT).
CREATE SCHEMA tap_schema;

CREATE TABLE tap_schema.schemas (
    schema_name  text PRIMARY KEY,
    utype        text,
    description  text,
    schema_index integer
);

CREATE TABLE tap_schema.tables (
    schema_name text NOT NULL REFERENCES tap_schema.schemas (schema_name) ON UPDATE CASCADE,
    table_name  text PRIMARY KEY,
    table_type  text NOT NULL CHECK (table_type IN ('table', 'view')),
    utype       text,
    description text,
    table_index integer,
    nrows       bigint
);

CREATE TABLE tap_schema.columns (
    table_name   text NOT NULL REFERENCES tap_schema.tables (table_name) ON UPDATE CASCADE ON DELETE CASCADE,
    column_name  text NOT NULL,
    datatype     text NOT NULL,
    arraysize    text,
    xtype        text,
    "size"       integer,
    description  text,
    utype        text,
    unit         text,
    ucd          text,
    indexed      integer NOT NULL DEFAULT 0 CHECK (indexed IN (0, 1)),
    principal    integer NOT NULL DEFAULT 0 CHECK (principal IN (0, 1)),
    std          integer NOT NULL DEFAULT 0 CHECK (std IN (0, 1)),
    column_index integer,
    PRIMARY KEY (table_name, column_name)
);

CREATE TABLE tap_schema.keys (
    key_id       text PRIMARY KEY,
    from_table   text NOT NULL REFERENCES tap_schema.tables (table_name) ON UPDATE CASCADE ON DELETE CASCADE,
    target_table text NOT NULL REFERENCES tap_schema.tables (table_name) ON UPDATE CASCADE ON DELETE CASCADE,
    description  text,
    utype        text
);

CREATE TABLE tap_schema.key_columns (
    key_id        text NOT NULL REFERENCES tap_schema.keys (key_id) ON UPDATE CASCADE ON DELETE CASCADE,
    from_column   text NOT NULL,
    target_column text NOT NULL
);

-- The query role reads TAP_SCHEMA and the published schemas, nothing else; tables created later
-- by the owner in these schemas are readable too (default privileges).
DO $$
DECLARE s text;
BEGIN
    FOREACH s IN ARRAY ARRAY['tap_schema', 'obsportal', 'ivoa', 'jsdc', 'jmdc', 'badcal', 'spica'] LOOP
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO @query_role@', s);
        EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO @query_role@', s);
        EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT ON TABLES TO @query_role@', s);
    END LOOP;
END $$;
