"""The VOSI tables documents (VOSI 1.1 §3.3, VODataService 1.2): the tableset and one table, from TAP_SCHEMA.

Same content as TAP_SCHEMA (TAP 1.1 §2.5): columns in ``column_index`` order, VOTable datatypes
(``vs:VOTableType`` with ``arraysize`` and the xtype as ``extendedType``), ``nrows``, foreign keys.
"""

from __future__ import annotations

from lxml import etree

from jmmctap.tapschema.model import Column, Key, Schema, Table, TapSchema

__all__ = ["TABLES_NS", "write_table", "write_tableset"]

TABLES_NS = "http://www.ivoa.net/xml/VOSITables/v1.0"
"""Namespace of the VOSI tables root elements (``tableset``, ``table``), for VOSI 1.0 and 1.1."""
_VS_NS = "http://www.ivoa.net/xml/VODataService/v1.1"
_XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_NSMAP = {"vosi": TABLES_NS, "vs": _VS_NS, "xsi": _XSI_NS}


def write_tableset(tap_schema: TapSchema, detail: bool = True) -> bytes:
    """The ``vosi:tableset`` of every published schema and table.

    Parameters
    ----------
    tap_schema
        The published metadata.
    detail
        False for ``detail=min``: tables without their columns and foreign keys.
    """
    root = etree.Element(f"{{{TABLES_NS}}}tableset", nsmap=_NSMAP)
    keys = _keys_by_table(tap_schema) if detail else {}
    for schema in _schemas(tap_schema):
        element = _add_schema(root, schema)
        for table in tap_schema.schema_tables(schema.name):
            _fill_table(etree.SubElement(element, "table"), table, keys.get(table.name, []), detail)
    return _serialize(root)


def write_table(tap_schema: TapSchema, table: Table) -> bytes:
    """A single ``vosi:table`` in full detail (``/tables/{table_name}``)."""
    root = etree.Element(f"{{{TABLES_NS}}}table", nsmap=_NSMAP)
    _fill_table(root, table, _keys_by_table(tap_schema).get(table.name, []), detail=True)
    return _serialize(root)


def _schemas(tap_schema: TapSchema) -> list[Schema]:
    # A table whose schema row is missing still gets listed (TAP_SCHEMA has no such FK enforcement here).
    known = {schema.name for schema in tap_schema.schemas}
    orphans = sorted({t.schema_name for t in tap_schema.tables if t.schema_name not in known})
    return [*tap_schema.schemas, *(Schema(name) for name in orphans)]


def _keys_by_table(tap_schema: TapSchema) -> dict[str, list[Key]]:
    keys: dict[str, list[Key]] = {}
    for key in tap_schema.keys:
        keys.setdefault(key.from_table, []).append(key)
    return keys


def _add_schema(root: etree._Element, schema: Schema) -> etree._Element:
    element = etree.SubElement(root, "schema")
    _text(element, "name", schema.name)
    _text(element, "description", schema.description)
    _text(element, "utype", schema.utype)
    return element


def _fill_table(element: etree._Element, table: Table, keys: list[Key], detail: bool) -> None:
    if table.table_type:
        element.set("type", table.table_type)
    _text(element, "name", table.name)
    _text(element, "description", table.description)
    _text(element, "utype", table.utype)
    if table.nrows is not None and table.nrows >= 0:
        _text(element, "nrows", str(table.nrows))
    if not detail:
        return
    for column in table.columns:
        _add_column(element, column)
    for key in keys:
        _add_foreign_key(element, key)


def _add_column(table: etree._Element, column: Column) -> None:
    element = etree.SubElement(table, "column", std="true" if column.std else "false")
    _text(element, "name", column.name)
    _text(element, "description", column.description)
    _text(element, "unit", column.unit)
    _text(element, "ucd", column.ucd)
    _text(element, "utype", column.utype)
    data_type = etree.SubElement(element, "dataType", {f"{{{_XSI_NS}}}type": "vs:VOTableType"})
    data_type.text = column.datatype
    if column.arraysize:
        data_type.set("arraysize", column.arraysize)
    if column.xtype:
        data_type.set("extendedType", column.xtype)  # no extendedSchema: a DALI/VOTable xtype
    if column.indexed:
        _text(element, "flag", "indexed")
    if column.principal:
        _text(element, "flag", "principal")


def _add_foreign_key(table: etree._Element, key: Key) -> None:
    element = etree.SubElement(table, "foreignKey")
    _text(element, "targetTable", key.target_table)
    for from_column, target_column in key.columns:
        pair = etree.SubElement(element, "fkColumn")
        _text(pair, "fromColumn", from_column)
        _text(pair, "targetColumn", target_column)
    _text(element, "description", key.description)
    _text(element, "utype", key.utype)


def _text(parent: etree._Element, tag: str, value: str | None) -> None:
    if value is not None and value != "":
        etree.SubElement(parent, tag).text = value


def _serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)  # type: ignore[no-any-return]
