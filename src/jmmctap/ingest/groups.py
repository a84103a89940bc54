"""GROUP membership: which group (name, UCD, description) each column or PARAM belongs to, and its role.

JMMC SearchCal/JSDC tables wrap each quantity in a GROUP: the value FIELD, its error, and its
origin and confidence indexes (FIELDs, or PARAMs when constant). The role is read from the member's
name and UCD: ``*.origin`` → origin, ``*.confidence`` → confidence, ``e_*``, ``*_err``, ``*.error``
or a ``stat.error`` UCD → error, anything else → value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jmmctap.ingest.columns import MappedColumn
from jmmctap.ingest.model import FieldSpec, GroupSpec, InfoSpec

__all__ = ["GroupMember", "group_members", "member_role"]

ROLES = ("value", "error", "origin", "confidence")
"""Roles a group member can have (stored in tap_schema.column_groups.role)."""


@dataclass(frozen=True)
class GroupMember:
    """A row of tap_schema.column_groups."""

    group_index: int
    group: GroupSpec
    member_name: str
    """TAP_SCHEMA column_name for a column, the PARAM name for a param."""
    member_kind: str
    """``column`` or ``param``."""
    role: str


def member_role(name: str, ucd: str | None) -> str:
    """The role of a group member from its name and UCD (see the module docstring)."""
    lname = name.lower()
    lucd = (ucd or "").lower()
    if lname.endswith(".origin") or lucd.endswith(".origin") or lucd.startswith("meta.ref"):
        return "origin"
    if lname.endswith(".confidence") or lucd.endswith(".confidence") or lucd.startswith("meta.code.qual"):
        return "confidence"
    if (lname.startswith("e_") or lname.endswith(("_err", "_error", ".error", ".err"))
            or "stat.error" in lucd or lucd.startswith("error")):
        return "error"
    return "value"


def group_members(groups: Sequence[GroupSpec], columns: Sequence[MappedColumn],
                  params: Sequence[InfoSpec]) -> list[GroupMember]:
    """Resolve every GROUP's FIELDrefs to columns and PARAMrefs to params, with their roles."""
    by_id = {c.field.id: c for c in columns if c.field.id}
    by_name = {c.field.name: c for c in columns}
    param_fields: dict[str, FieldSpec | None] = {p.name: p.field for p in params if p.kind == "PARAM"}
    members = []
    for index, group in enumerate(groups):
        for ref in group.field_refs:
            column = by_id.get(ref) or by_name.get(ref)
            if column is not None:
                role = member_role(column.field.name, column.field.ucd)
                members.append(GroupMember(index, group, column.column.name, "column", role))
        for name in group.param_refs:
            spec = param_fields.get(name)
            members.append(GroupMember(index, group, name, "param", member_role(name, spec.ucd if spec else None)))
    return members
