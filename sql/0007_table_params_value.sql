-- "value" is an ADQL reserved word (taplint E-TME-CRSV); a column of a published table must not use it.
ALTER TABLE tap_schema.table_params RENAME COLUMN value TO param_value;
