"""Load the YAML metadata declarations of ``tap_schema/*.yaml`` into TAP_SCHEMA.

Tables created by DDL in ``sql/`` (TAP_SCHEMA itself, later the JMMC catalogues) are described
in these files; ``jmmctap db init``/``upgrade`` publishes them. Format::

    schemas:
    - name: tap_schema
      description: ...
      tables:
      - name: tap_schema.tables
        description: ...
        columns:
        - {name: table_name, datatype: char, arraysize: "*", description: ..., principal: 1, std: 1}
      keys:
      - {id: ..., from: tap_schema.tables, target: tap_schema.schemas, columns: [[schema_name, schema_name]]}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import yaml

from jmmctap.errors import ConfigError
from jmmctap.resources import resource_dir
from jmmctap.tapschema.model import Column, Key, Schema, Table
from jmmctap.tapschema.publish import publish_keys, publish_schema, publish_table, refresh_row_counts

__all__ = ["Declaration", "publish_declarations", "read_declarations"]

Declaration = tuple[Schema, list[Table], list[Key]]


def read_declarations(directory: Path | None = None) -> list[Declaration]:
    """Parse every ``*.yaml`` of the directory (default: the project's ``tap_schema/``)."""
    directory = directory or resource_dir("tap_schema")
    declarations: list[Declaration] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            document = yaml.safe_load(path.read_text())
            declarations.extend(_parse_schema(s) for s in document.get("schemas", []))
        except (yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"{path}: invalid TAP_SCHEMA declaration: {exc}") from None
    return declarations


def publish_declarations(conn: psycopg.Connection[Any], query_role: str, directory: Path | None = None) -> None:
    """Publish the declared schemas, tables and keys in one transaction, then refresh row counts.

    Raises
    ------
    ConfigError
        A declaration does not match the database (e.g. a declared table does not exist).
    """
    declarations = read_declarations(directory)
    current = "schemas"
    try:
        with conn.transaction():
            for schema, tables, _ in declarations:
                current = f"schema {schema.name}"
                publish_schema(conn, schema, query_role)
                for table in tables:
                    current = f"table {table.name}"
                    publish_table(conn, table, query_role)
            current = "keys"
            for _, _, keys in declarations:
                publish_keys(conn, keys)
            refresh_row_counts(conn, [t.name for _, tables, _ in declarations for t in tables])
    except psycopg.Error as exc:
        raise ConfigError(
            f"cannot publish the declared {current} ({directory or 'tap_schema/'}): {exc.diag.message_primary or exc}"
        ) from None


_SCHEMA_KEYS = frozenset({"name", "description", "utype", "index", "tables", "keys"})
_TABLE_KEYS = frozenset({"name", "description", "utype", "index", "type", "columns"})
_COLUMN_KEYS = frozenset({"name", "datatype", "arraysize", "xtype", "description", "utype", "unit", "ucd",
                          "indexed", "principal", "std"})
_KEY_KEYS = frozenset({"id", "from", "target", "columns", "description"})


def _check_keys(raw: dict[str, Any], allowed: frozenset[str], where: str) -> None:
    """Unknown keys are errors: in YAML flow style an unquoted comma in a description silently starts
    a new key and cuts the description short."""
    unknown = set(raw) - allowed
    if unknown:
        raise KeyError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))} (quote text with commas)")


def _parse_schema(raw: dict[str, Any]) -> Declaration:
    _check_keys(raw, _SCHEMA_KEYS, f"schema {raw.get('name')}")
    schema = Schema(raw["name"], raw.get("description"), raw.get("utype"), raw.get("index"))
    tables = []
    for t_index, t in enumerate(raw.get("tables", [])):
        _check_keys(t, _TABLE_KEYS, f"table {t.get('name')}")
        for c in t.get("columns", []):
            _check_keys(c, _COLUMN_KEYS, f"column {t.get('name')}.{c.get('name')}")
        columns = tuple(
            Column(
                table_name=t["name"], name=c["name"], datatype=c["datatype"],
                arraysize=None if c.get("arraysize") is None else str(c["arraysize"]),
                xtype=c.get("xtype"), description=c.get("description"), utype=c.get("utype"),
                unit=c.get("unit"), ucd=c.get("ucd"), indexed=bool(c.get("indexed", 0)),
                principal=bool(c.get("principal", 0)), std=bool(c.get("std", 0)), column_index=i,
            )
            for i, c in enumerate(t.get("columns", []))
        )
        tables.append(Table(
            schema_name=schema.name, name=t["name"], table_type=t.get("type", "table"),
            description=t.get("description"), utype=t.get("utype"),
            table_index=t.get("index", t_index), columns=columns,
        ))
    for k in raw.get("keys", []):
        _check_keys(k, _KEY_KEYS, f"key {k.get('id')}")
    keys = [
        Key(k["id"], k["from"], k["target"], tuple((f, g) for f, g in k["columns"]), k.get("description"))
        for k in raw.get("keys", [])
    ]
    return schema, tables, keys
