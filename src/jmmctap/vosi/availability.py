"""The VOSI availability document (VOSI 1.1 §3.2)."""

from __future__ import annotations

from datetime import datetime

from lxml import etree

__all__ = ["AVAILABILITY_NS", "write_availability"]

AVAILABILITY_NS = "http://www.ivoa.net/xml/VOSIAvailability/v1.0"
"""Namespace of the VOSI availability document."""


def write_availability(available: bool, up_since: datetime | None, notes: list[str]) -> bytes:
    """The VOSI availability XML (root ``availability``; ``upSince`` as an ISO-8601 UTC instant)."""
    root = etree.Element(f"{{{AVAILABILITY_NS}}}availability", nsmap={"vosi": AVAILABILITY_NS})
    etree.SubElement(root, f"{{{AVAILABILITY_NS}}}available").text = "true" if available else "false"
    if up_since is not None and available:
        etree.SubElement(root, f"{{{AVAILABILITY_NS}}}upSince").text = _iso(up_since)
    for note in notes:
        etree.SubElement(root, f"{{{AVAILABILITY_NS}}}note").text = note
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")  # type: ignore[no-any-return]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
