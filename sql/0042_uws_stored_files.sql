-- Async results and job uploads kept in PostgreSQL (JMMCTAP_RESULTS_STORE=database, issue 21 item 2), so that
-- front-ends and workers on several hosts need no shared disk. Internal: schema uws grants nothing to
-- the query role, so no ADQL (nor any SQL it could run) reads another caller's result.
--
-- A chunk table rather than large objects: a job's files go with the job in the same transaction (the
-- triggers below; large objects would need lo_unlink for each, and vacuumlo for those a crash forgets),
-- their privileges are the schema's (large objects carry an ACL of their own), a byte range is a lookup
-- by (job, name, seq), and the chunks are never compressed again by TOAST (STORAGE EXTERNAL: results are
-- usually gzip streams already). What large objects add, writes in the middle of an object, is not needed.

-- One stored file of a job: its result ('result') or an inline upload ('upload:<part name>').
CREATE TABLE uws.stored_file (
    job_id      text NOT NULL,          -- no foreign key: uploads are stored before their job row exists
    name        text NOT NULL,
    gzipped     boolean NOT NULL DEFAULT false,
    chunk_bytes integer NOT NULL CHECK (chunk_bytes > 0),   -- every chunk but the last has this size
    size        bigint CHECK (size >= 0),                   -- NULL while it is written: never served then
    created     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, name)
);
CREATE INDEX ON uws.stored_file (created);

CREATE TABLE uws.stored_chunk (
    job_id text NOT NULL,
    name   text NOT NULL,
    seq    integer NOT NULL CHECK (seq >= 0),
    data   bytea NOT NULL,
    PRIMARY KEY (job_id, name, seq),
    FOREIGN KEY (job_id, name) REFERENCES uws.stored_file (job_id, name) ON DELETE CASCADE
);
ALTER TABLE uws.stored_chunk ALTER COLUMN data SET STORAGE EXTERNAL;

-- A job's files are deleted with it (DELETE, destruction time), in the same transaction. A result is
-- deleted when its executing job ends in ERROR or ABORTED (also the sweeper's, for a dead worker's job)
-- or is handed back to the queue (a worker that stops): a result being written then loses its row, and
-- the writer's next chunk fails on the foreign key, so no chunk outlives its job.
CREATE FUNCTION uws.delete_stored_files() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM uws.stored_file WHERE job_id = OLD.job_id;
    ELSE
        DELETE FROM uws.stored_file WHERE job_id = NEW.job_id AND name = 'result';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER delete_stored_files AFTER DELETE ON uws.job
    FOR EACH ROW EXECUTE FUNCTION uws.delete_stored_files();
CREATE TRIGGER delete_failed_result AFTER UPDATE OF phase ON uws.job
    FOR EACH ROW WHEN (NEW.phase IN ('ERROR', 'ABORTED', 'QUEUED') AND OLD.phase = 'EXECUTING')
    EXECUTE FUNCTION uws.delete_stored_files();
