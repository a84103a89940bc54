-- sync-eso: the state of the harvest of the ESO archive (dbo.raw of its TAP service, then each exposure's
-- header). Internal (schema jmmctap, never published). Each exposure is stored, recorded here and the
-- checkpoint advanced in one transaction, so a sync killed at any moment loses nothing and repeats nothing.

-- One row: the keyset position (last_mod_date, dp_id) of the last exposure handled, in the archive's order.
CREATE TABLE jmmctap.eso_sync_state (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    last_mod_date  timestamptz,
    last_dp_id     text,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
INSERT INTO jmmctap.eso_sync_state DEFAULT VALUES;

-- Every exposure a sync handled: the archive's last_mod_date it saw, and what became of it.
CREATE TABLE jmmctap.eso_sync_exposures (
    dp_id          text PRIMARY KEY,
    last_mod_date  timestamptz NOT NULL,
    outcome        text NOT NULL CHECK (outcome IN ('inserted', 'updated', 'unchanged', 'failed')),
    error          text,
    run_id         bigint NOT NULL,
    synced_at      timestamptz NOT NULL DEFAULT now()
);

-- One row per sync run; a run whose process died stays 'running' until the next run marks it 'interrupted'.
CREATE TABLE jmmctap.eso_sync_runs (
    run_id         bigserial PRIMARY KEY,
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    status         text NOT NULL DEFAULT 'running'
                   CHECK (status IN ('running', 'ok', 'error', 'interrupted')),
    from_mod_date  timestamptz,
    last_mod_date  timestamptz,
    added          integer NOT NULL DEFAULT 0,
    updated        integer NOT NULL DEFAULT 0,
    unchanged      integer NOT NULL DEFAULT 0,
    failed         integer NOT NULL DEFAULT 0,
    last_error     text
);
