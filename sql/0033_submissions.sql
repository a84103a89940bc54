-- Submissions over HTTP (issue 17 items 3 and 4): tables uploaded by users, BadCal reports and their moderation.
--
-- Personal groups. Every signed-in user is, for table grants only, in a group of its own named 'user:<login>'
-- (a real group name cannot hold ':', sql/0020, so nobody can be put in another's). A table uploaded into a
-- user's schema user_<login> is granted to that group when the upload creates it: only its owner sees it until
-- `jmmctap grant` adds groups (or --public removes every grant). Python applies the same rule to its copy of
-- TAP_SCHEMA (jmmctap.acl.principal.groups_of).
CREATE OR REPLACE FUNCTION acl.hidden_tables() RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(array_agg(DISTINCT t.table_name), '{}') FROM acl.table_grant t, acl.verified_principal() p
    WHERE NOT EXISTS (SELECT 1 FROM acl.table_grant g
                      WHERE g.table_name = t.table_name
                        AND (g.group_name = ANY (p.groups) OR g.group_name = 'user:' || p.user_name))
$$;

-- Who may upload tables (PUT /tables/SCHEMA.TABLE) into a schema that is not their own user_<login>: the
-- members of these groups (`jmmctap writer add SCHEMA GROUP`). Schema names as in PostgreSQL.
CREATE TABLE acl.schema_writer (
    schema_name text NOT NULL,
    group_name  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schema_name, group_name)
);

-- BadCal reports as submitted, whatever their fate; never published (the query role has no right here).
-- Accepting one copies it into badcal.valid_stars (the published table, one row per validated report) and
-- records the row's id in star_id; rejecting an accepted one removes that row again.
CREATE SCHEMA jmmctap_submissions;
COMMENT ON SCHEMA jmmctap_submissions IS 'jmmctap internal state: BadCal reports awaiting moderation (never published)';
REVOKE ALL ON SCHEMA jmmctap_submissions FROM PUBLIC;

CREATE TABLE jmmctap_submissions.badcal_report (
    report_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'rejected')),
    submitted_by     text NOT NULL,
    name             text NOT NULL CHECK (name <> ''),
    ra               double precision NOT NULL CHECK (ra >= 0 AND ra < 360),
    dec              double precision NOT NULL CHECK (dec BETWEEN -90 AND 90),
    obs_date         timestamp,
    interferometer   text,
    insname          text,
    baseline         text,
    wavelength       double precision CHECK (wavelength > 0),
    user_name        text,
    user_affiliation text,
    user_comment     text,
    sub_date         timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    moderated_by     text,
    moderated_at     timestamptz,
    moderation_note  text,
    star_id          integer UNIQUE,
    CHECK ((status = 'accepted') = (star_id IS NOT NULL))
);
CREATE INDEX badcal_report_pending ON jmmctap_submissions.badcal_report (report_id) WHERE status = 'pending';
CREATE INDEX badcal_report_submitter ON jmmctap_submissions.badcal_report (submitted_by);
