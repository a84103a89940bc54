-- `catalog` is an ADQL reserved word (users would have to write jsdc."catalog"): the JSDC table
-- takes its VizieR name, jsdc.jsdc_v2 (II/346/jsdc_v2). Its old TAP_SCHEMA rows go (columns and
-- keys cascade); `db init` publishes the new name from tap_schema/32_jsdc.yaml.
ALTER TABLE jsdc.catalog RENAME TO jsdc_v2;
DELETE FROM tap_schema.tables WHERE table_name = 'jsdc.catalog';
