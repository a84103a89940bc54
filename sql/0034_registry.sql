-- The publishing registry (/oai): the identifier, content digest and dates of every VOResource record
-- ever published. A record's datestamp (`updated`) changes only when its content digest does (a
-- schema change, a new catalogue); a resource that disappears stays as a deleted record so that
-- harvesters learn of it (OAI-PMH deletedRecord=persistent, Registry Interfaces 1.1 §2.5).
CREATE SCHEMA registry;
COMMENT ON SCHEMA registry IS 'jmmctap: OAI-PMH publishing registry state (not published in TAP_SCHEMA)';

CREATE TABLE registry.records (
    ivoid         text PRIMARY KEY,
    resource_type text NOT NULL,
    digest        text NOT NULL,
    created       timestamptz NOT NULL,
    updated       timestamptz NOT NULL,
    deleted       boolean NOT NULL DEFAULT false,
    CHECK (updated >= created)
);
CREATE INDEX records_updated ON registry.records (updated, ivoid);
