"""TAP_SCHEMA: the Python view of the published metadata, and how it is filled."""

from jmmctap.tapschema.load import load_tap_schema, load_tap_schema_async
from jmmctap.tapschema.model import Column, Identifier, Key, Schema, Table, TapSchema, split_qualified

__all__ = [
    "Column",
    "Identifier",
    "Key",
    "Schema",
    "Table",
    "TapSchema",
    "load_tap_schema",
    "load_tap_schema_async",
    "split_qualified",
]
