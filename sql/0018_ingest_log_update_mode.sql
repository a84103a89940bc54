-- `jmmctap ingest-jsdc` upserts stars by recno and logs mode 'update': rows were added or changed
-- in place, no table was created or replaced.
ALTER TABLE jmmctap.ingest_log DROP CONSTRAINT ingest_log_mode_check;
ALTER TABLE jmmctap.ingest_log ADD CONSTRAINT ingest_log_mode_check
    CHECK (mode IN ('create', 'replace', 'append', 'update'));
