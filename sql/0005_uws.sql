-- UWS 1.1 jobs of TAP /async (issue 6): jobs, their parameters, the workers that run them.
-- Internal, never published: the query role gets no privilege on schema uws.

CREATE SCHEMA uws;
COMMENT ON SCHEMA uws IS 'jmmctap internal state: UWS jobs of /tap/async and their workers (never published)';

-- One row per worker process (`serve` with in-process workers, or `jmmctap worker`). While alive, the
-- process holds the session advisory lock (WORKER_LOCK_CLASS, worker_id) (see uws/store.py) on its
-- listener connection, so a dead process (kill -9, lost host) is recognised as soon as PostgreSQL closes its session.
CREATE TABLE uws.worker (
    worker_id  serial PRIMARY KEY,
    host       text NOT NULL,
    os_pid     integer NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    heartbeat  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE uws.job (
    job_id             text PRIMARY KEY,
    run_id             text,
    owner_id           text,
    phase              text NOT NULL CHECK (phase IN ('PENDING', 'QUEUED', 'EXECUTING', 'COMPLETED', 'ERROR',
                                                      'ABORTED', 'UNKNOWN', 'HELD', 'SUSPENDED', 'ARCHIVED')),
    creation_time      timestamptz NOT NULL DEFAULT now(),
    queued_time        timestamptz,
    start_time         timestamptz,
    end_time           timestamptz,
    execution_duration integer NOT NULL CHECK (execution_duration >= 0),
    destruction        timestamptz NOT NULL,
    quote              timestamptz,
    error_message      text,
    error_type         text CHECK (error_type IN ('transient', 'fatal')),
    error_detail       boolean NOT NULL DEFAULT false,
    result_mime        text,
    result_size        bigint,
    result_rows        bigint,
    result_overflow    boolean,
    worker_id          integer,
    backend_pid        integer
);
CREATE INDEX ON uws.job (owner_id, creation_time DESC);
CREATE INDEX ON uws.job (queued_time) WHERE phase = 'QUEUED';
CREATE INDEX ON uws.job (worker_id) WHERE phase = 'EXECUTING';
CREATE INDEX ON uws.job (destruction);

-- Parameters as posted, in order; several rows with one name are a multi-valued parameter (UPLOAD).
CREATE TABLE uws.parameter (
    job_id   text NOT NULL REFERENCES uws.job (job_id) ON DELETE CASCADE,
    position integer NOT NULL,
    name     text NOT NULL,
    value    text NOT NULL,
    PRIMARY KEY (job_id, position)
);

-- Inline upload files (UPLOAD=name,param:x): the file is stored in the job's directory, named here.
CREATE TABLE uws.upload_file (
    job_id text NOT NULL REFERENCES uws.job (job_id) ON DELETE CASCADE,
    name   text NOT NULL,
    size   bigint NOT NULL,
    PRIMARY KEY (job_id, name)
);

-- Every phase change (and the deletion) of a job is announced on channel uws_job as "job_id phase";
-- a job entering QUEUED is also announced on uws_queue to wake the workers. NOTIFY is sent at commit.
CREATE FUNCTION uws.notify_job() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('uws_job', OLD.job_id || ' DELETED');
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' OR NEW.phase IS DISTINCT FROM OLD.phase THEN
        PERFORM pg_notify('uws_job', NEW.job_id || ' ' || NEW.phase);
        IF NEW.phase = 'QUEUED' THEN
            PERFORM pg_notify('uws_queue', NEW.job_id);
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER notify_job AFTER INSERT OR UPDATE OF phase OR DELETE ON uws.job
    FOR EACH ROW EXECUTE FUNCTION uws.notify_job();

REVOKE ALL ON SCHEMA uws FROM PUBLIC;
