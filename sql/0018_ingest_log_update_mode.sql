-- The catalogue loaders (ingest-jsdc, ingest-eso, ingest-oifits, the samples) upsert rows by key:
-- they log mode 'update' (rows added or changed in place; no table created or replaced).
ALTER TABLE jmmctap.ingest_log DROP CONSTRAINT ingest_log_mode_check;
ALTER TABLE jmmctap.ingest_log ADD CONSTRAINT ingest_log_mode_check
    CHECK (mode IN ('create', 'replace', 'append', 'update'));
