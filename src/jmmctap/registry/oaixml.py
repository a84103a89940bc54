"""OAI-PMH 2.0 response documents: the envelope, headers, records (``ivo_vor``, ``oai_dc``), errors.

The protocol decisions are in ``oai.py``; this module only writes what it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree

from jmmctap.registry.identity import Identity
from jmmctap.registry.records import render_record
from jmmctap.registry.service import Entry

__all__ = [
    "DC_NS",
    "METADATA_FORMATS",
    "OAI_DC_NS",
    "OAI_NS",
    "MetadataFormat",
    "add_header",
    "add_record",
    "format_datestamp",
    "new_response",
    "serialize",
]

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
"""Namespace of OAI-PMH 2.0 responses."""
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
"""Namespace of the ``oai_dc`` container."""
DC_NS = "http://purl.org/dc/elements/1.1/"
"""Namespace of the Dublin Core elements."""
_XSI = "http://www.w3.org/2001/XMLSchema-instance"


@dataclass(frozen=True)
class MetadataFormat:
    """A metadataPrefix: its schema and namespace (ListMetadataFormats)."""

    prefix: str
    schema: str
    namespace: str


METADATA_FORMATS = (
    MetadataFormat("ivo_vor", "http://www.ivoa.net/xml/RegistryInterface/RegistryInterface-v1.0.xsd",
                   "http://www.ivoa.net/xml/RegistryInterface/v1.0"),
    MetadataFormat("oai_dc", "http://www.openarchives.org/OAI/2.0/oai_dc.xsd", OAI_DC_NS),
)
"""The two formats Registry Interfaces 1.1 §2.2 requires."""


def format_datestamp(value: datetime) -> str:
    """A UTC datestamp at seconds granularity (``YYYY-MM-DDThh:mm:ssZ``)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_response(base_url: str, now: datetime, arguments: Mapping[str, str] | None) -> etree._Element:
    """The ``OAI-PMH`` root with ``responseDate`` and ``request`` (attributes only for a valid request)."""
    # a prefix, not the default namespace: the unqualified elements of the records must stay unqualified
    root = etree.Element(f"{{{OAI_NS}}}OAI-PMH", nsmap={"oai": OAI_NS, "xsi": _XSI})
    root.set(f"{{{_XSI}}}schemaLocation", f"{OAI_NS} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd")
    etree.SubElement(root, f"{{{OAI_NS}}}responseDate").text = format_datestamp(now)
    request = etree.SubElement(root, f"{{{OAI_NS}}}request", dict(arguments or {}))
    request.text = base_url
    return root


def add_header(parent: etree._Element, entry: Entry, set_spec: str) -> None:
    """A record header; a deleted record says so (``status="deleted"``) and keeps its identifier and set."""
    header = etree.SubElement(parent, f"{{{OAI_NS}}}header")
    if entry.record is None:
        header.set("status", "deleted")
    etree.SubElement(header, f"{{{OAI_NS}}}identifier").text = entry.identifier
    etree.SubElement(header, f"{{{OAI_NS}}}datestamp").text = format_datestamp(entry.datestamp)
    etree.SubElement(header, f"{{{OAI_NS}}}setSpec").text = set_spec


def add_record(parent: etree._Element, entry: Entry, prefix: str, set_spec: str, identity: Identity) -> None:
    """A ``record``: header, and the metadata in the format asked for unless the record is deleted."""
    record = etree.SubElement(parent, f"{{{OAI_NS}}}record")
    add_header(record, entry, set_spec)
    if entry.record is None:
        return
    metadata = etree.SubElement(record, f"{{{OAI_NS}}}metadata")
    if prefix == "ivo_vor":
        metadata.append(render_record(entry.record, entry.stamp.created, entry.stamp.updated))
    else:
        metadata.append(_dublin_core(entry, identity))


def _dublin_core(entry: Entry, identity: Identity) -> etree._Element:
    """The record in unqualified Dublin Core, for generic OAI harvesters."""
    assert entry.record is not None
    text = entry.record.text
    dc = etree.Element(f"{{{OAI_DC_NS}}}dc", nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS, "xsi": _XSI})
    dc.set(f"{{{_XSI}}}schemaLocation", f"{OAI_DC_NS} http://www.openarchives.org/OAI/2.0/oai_dc.xsd")
    values = [("title", text.title), ("identifier", entry.identifier)]
    values += [("subject", subject) for subject in text.subjects]
    values += [("description", text.description), ("publisher", identity.publisher),
               ("date", format_datestamp(entry.datestamp)), ("type", entry.record.resource_type)]
    if text.reference_url:
        values.append(("relation", text.reference_url))
    for name, value in values:
        etree.SubElement(dc, f"{{{DC_NS}}}{name}").text = value
    return dc


def serialize(root: etree._Element) -> bytes:
    """The UTF-8 document with its XML declaration."""
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)  # type: ignore[no-any-return]
