-- Metadata kept by `jmmctap ingest` beyond TAP_SCHEMA 1.1 (published, queryable):
-- the original FIELD name of each column, the table's PARAMs/INFOs/COOSYS/TIMESYS,
-- and the GROUP structure (SearchCal/JSDC value/error/origin/confidence groups).

CREATE TABLE tap_schema.column_origins (
    table_name    text NOT NULL REFERENCES tap_schema.tables (table_name) ON UPDATE CASCADE ON DELETE CASCADE,
    column_name   text NOT NULL,
    original_name text NOT NULL,
    field_id      text,
    ref           text,
    null_value    text,
    PRIMARY KEY (table_name, column_name)
);

CREATE TABLE tap_schema.table_params (
    table_name  text NOT NULL REFERENCES tap_schema.tables (table_name) ON UPDATE CASCADE ON DELETE CASCADE,
    param_index integer NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('PARAM', 'INFO', 'COOSYS', 'TIMESYS')),
    scope       text NOT NULL CHECK (scope IN ('TABLE', 'RESOURCE', 'VOTABLE', 'GROUP')),
    name        text NOT NULL,
    value       text,
    datatype    text,
    arraysize   text,
    unit        text,
    ucd         text,
    utype       text,
    xtype       text,
    description text,
    PRIMARY KEY (table_name, param_index)
);

CREATE TABLE tap_schema.column_groups (
    table_name        text NOT NULL REFERENCES tap_schema.tables (table_name) ON UPDATE CASCADE ON DELETE CASCADE,
    group_index       integer NOT NULL,
    group_name        text,
    group_id          text,
    group_ucd         text,
    group_utype       text,
    group_description text,
    parent_group      text,
    member_name       text NOT NULL,
    member_kind       text NOT NULL CHECK (member_kind IN ('column', 'param')),
    role              text NOT NULL CHECK (role IN ('value', 'error', 'origin', 'confidence'))
);
CREATE INDEX ON tap_schema.column_groups (table_name, member_name);

GRANT SELECT ON tap_schema.column_origins, tap_schema.table_params, tap_schema.column_groups TO @query_role@;
