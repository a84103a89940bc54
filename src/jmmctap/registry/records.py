"""The VOResource records of the data centre (VOResource 1.2, VODataService 1.2, TAPRegExt, ConeSearch, VORegistry).

``build_records`` describes, from the identity file, the public TAP_SCHEMA and the TAP capabilities:
the naming authority (``vg:Authority``), this publishing registry (``vg:Registry``), the TAP service
(``vs:CatalogService`` with its tableset), each cone search (``vs:CatalogService`` with ``cs:ConeSearch``)
and each catalogue the TAP service serves (``vs:CatalogResource`` with a ``TAP#aux`` capability,
Discovering Data Collections note). A record is built without its ``created``/``updated``/``status``
attributes, and its digest covers only that content: the store gives it a new datestamp only when the
content changes (``store.py``); ``render_record`` adds the dates when the record is served.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree

from jmmctap import scs
from jmmctap.registry.identity import ConeIdentity, Identity, ResourceText
from jmmctap.tapschema.model import TapSchema
from jmmctap.vosi.capabilities import (
    CAPABILITIES_NS,
    TAPREGEXT_NS,
    VODATASERVICE_NS,
    VORESOURCE_NS,
    TapCapabilities,
    add_capabilities,
)
from jmmctap.vosi.conesearch import CONESEARCH_NS, ConeCapability, add_cone_capabilities
from jmmctap.vosi.tables import write_tableset

__all__ = [
    "REGISTRYINTERFACE_NS",
    "REGISTRY_STANDARD_ID",
    "VOREGISTRY_NS",
    "Record",
    "RecordInputs",
    "build_records",
    "cone_capability",
    "render_record",
    "write_record",
    "write_registry_capabilities",
]

REGISTRYINTERFACE_NS = "http://www.ivoa.net/xml/RegistryInterface/v1.0"
"""Namespace of ``ri:Resource``, the root of an ``ivo_vor`` record (Registry Interfaces 1.1 §2.2)."""
VOREGISTRY_NS = "http://www.ivoa.net/xml/VORegistry/v1.0"
"""Namespace of VORegistry 1.1 (``vg:Registry``, ``vg:Authority``, ``vg:Harvest``, ``vg:OAIHTTP``)."""
REGISTRY_STANDARD_ID = "ivo://ivoa.net/std/Registry"
"""Standard identifier of the registry interfaces (the OAI-PMH harvesting capability)."""
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_XSI_TYPE = f"{{{_XSI}}}type"
_NSMAP = {"ri": REGISTRYINTERFACE_NS, "vr": VORESOURCE_NS, "vs": VODATASERVICE_NS, "tr": TAPREGEXT_NS,
          "cs": CONESEARCH_NS, "vg": VOREGISTRY_NS, "xsi": _XSI}
_SCHEMA_LOCATIONS = " ".join((
    # TAPRegExt 1.0 §2.1: registry records MUST locate the TAPRegExt schema
    REGISTRYINTERFACE_NS, "http://www.ivoa.net/xml/RegistryInterface/RegistryInterface-v1.0.xsd",
    VORESOURCE_NS, "http://www.ivoa.net/xml/VOResource/VOResource-v1.2.xsd",
    VODATASERVICE_NS, "http://www.ivoa.net/xml/VODataService/VODataService-v1.2.xsd",
    TAPREGEXT_NS, "http://www.ivoa.net/xml/TAPRegExt/TAPRegExt-v1.0.xsd",
    CONESEARCH_NS, "http://www.ivoa.net/xml/ConeSearch/ConeSearch-v1.0.xsd",
    VOREGISTRY_NS, "http://www.ivoa.net/xml/VORegistry/VORegistry-v1.1.xsd",
))
TAP_AUX_ID = "ivo://ivoa.net/std/TAP#aux"
"""An auxiliary capability: the catalogue is queried through the TAP service (Discovering Data Collections)."""


@dataclass(frozen=True)
class Record:
    """One resource description: identifier, ``xsi:type``, texts (for ``oai_dc``) and the undated record."""

    identifier: str
    resource_type: str
    text: ResourceText
    element: etree._Element
    """The ``ri:Resource`` without ``created``, ``updated`` and ``status`` (never modified once built)."""
    digest: str
    """SHA-256 of the canonical XML of ``element``: a new digest means a new datestamp."""


@dataclass(frozen=True)
class RecordInputs:
    """Everything the records are made of."""

    identity: Identity
    root_url: str
    """The public root URL of the service (``/tap``, ``/scs/…`` and ``/oai`` hang from it)."""
    tap: TapCapabilities
    tap_schema: TapSchema
    """TAP_SCHEMA as an anonymous caller sees it: private tables are never described."""
    max_records: int
    """Rows a cone search returns at most (``maxRecords``)."""
    oai_page_size: int
    """Records per OAI-PMH list response (``vg:Harvest/maxRecords``)."""


def cone_capability(root_url: str, cone: ConeIdentity, name: str, max_records: int) -> ConeCapability:
    """The ``cs:ConeSearch`` capability of the cone search ``/scs/{name}``."""
    query = cone.test_query
    return ConeCapability(f"{root_url}/scs/{name}?", scs.MAX_SR_DEG, max_records, query.ra, query.dec, query.sr)


def build_records(inputs: RecordInputs) -> list[Record]:
    """Every record this registry publishes now: a catalogue or cone search whose tables are not public has none.

    Parameters
    ----------
    inputs
        The identity, public root URL, TAP capabilities and public TAP_SCHEMA.

    Returns
    -------
    list of Record
        Authority, registry, TAP service, cone searches, catalogues, in that order.
    """
    identity, root = inputs.identity, inputs.root_url
    catalogues = {name: _tables_of(inputs.tap_schema, c.tables, c.schemas)
                  for name, c in identity.catalogues.items()}
    catalogues = {name: tables for name, tables in catalogues.items() if tables.tables}
    cones = {c.name: identity.cone_searches[c.name] for c in scs.CATALOGUES
             if c.name in identity.cone_searches and identity.cone_searches[c.name].catalogue in catalogues
             and all(inputs.tap_schema.table(t) for t in (c.table, *c.extra_tables))}
    tap_id = identity.identifier(identity.tap.key)
    catalogue_ids = {name: identity.identifier(identity.catalogues[name].text.key) for name in catalogues}
    records = [_authority(identity), _registry(identity, root, inputs.oai_page_size)]

    tap = _resource("vs:CatalogService", identity, identity.tap,
                    [("IsServiceFor", [(identity.catalogues[n].text.title, i) for n, i in catalogue_ids.items()])])
    add_capabilities(tap, inputs.tap, f"{root}/tap", others=False)
    _split_security_methods(tap)
    _add_tableset(tap, inputs.tap_schema)
    records.append(_finish(tap, "vs:CatalogService", identity, identity.tap))

    for cone_name, cone in cones.items():
        served = identity.catalogues[cone.catalogue]
        element = _resource("vs:CatalogService", identity, cone.text,
                            [("IsServiceFor", [(served.text.title, catalogue_ids[cone.catalogue])])])
        add_cone_capabilities(element, cone_capability(root, cone, cone_name, inputs.max_records))
        definition = next(c for c in scs.CATALOGUES if c.name == cone_name)
        _add_tableset(element, _tables_of(inputs.tap_schema, (definition.table, *definition.extra_tables), ()))
        records.append(_finish(element, "vs:CatalogService", identity, cone.text))

    for name, tables in catalogues.items():
        text = identity.catalogues[name].text
        servers = [(identity.tap.title, tap_id)] + [
            (cone.text.title, identity.identifier(cone.text.key)) for cone in cones.values() if cone.catalogue == name]
        element = _resource("vs:CatalogResource", identity, text, [("IsServedBy", servers)])
        capability = etree.SubElement(element, "capability", standardID=TAP_AUX_ID)
        interface = etree.SubElement(capability, "interface", {_XSI_TYPE: "vs:ParamHTTP", "role": "std",
                                                               "version": "1.1"})
        etree.SubElement(interface, "accessURL", use="base").text = f"{root}/tap"
        _add_tableset(element, tables)
        records.append(_finish(element, "vs:CatalogResource", identity, text))
    return records


def render_record(record: Record, created: datetime, updated: datetime, deleted: bool = False) -> etree._Element:
    """A copy of the record with its dates (UTC, seconds) and status, ready to serve."""
    element = copy.deepcopy(record.element)
    element.set("created", _timestamp(created))
    element.set("updated", _timestamp(updated))
    element.set("status", "deleted" if deleted else "active")
    return element


def write_record(record: Record, created: datetime, updated: datetime) -> bytes:
    """A dated record as a standalone XML document (``jmmctap registry show``)."""
    return etree.tostring(render_record(record, created, updated), xml_declaration=True,  # type: ignore[no-any-return]
                          encoding="UTF-8", pretty_print=True)


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _tables_of(tap_schema: TapSchema, tables: Iterable[str], schemas: Sequence[str]) -> TapSchema:
    """The part of TAP_SCHEMA holding the given tables and every table of the given schemas."""
    wanted = set(tables)
    kept = tuple(t for t in tap_schema.tables if t.name in wanted or t.schema_name in schemas)
    names = {t.name for t in kept}
    return TapSchema(
        schemas=tuple(s for s in tap_schema.schemas if s.name in {t.schema_name for t in kept}),
        tables=kept,
        keys=tuple(k for k in tap_schema.keys if k.from_table in names and k.target_table in names),
    )


def _resource(resource_type: str, identity: Identity, text: ResourceText,
              relationships: Sequence[tuple[str, Sequence[tuple[str, str | None]]]] = ()) -> etree._Element:
    """The ``ri:Resource`` up to ``content`` (VOResource order: title, shortName, identifier, curation, content)."""
    element = etree.Element(f"{{{REGISTRYINTERFACE_NS}}}Resource", {_XSI_TYPE: resource_type}, nsmap=_NSMAP)
    element.set(f"{{{_XSI}}}schemaLocation", _SCHEMA_LOCATIONS)
    etree.SubElement(element, "title").text = text.title
    if text.short_name:
        etree.SubElement(element, "shortName").text = text.short_name
    etree.SubElement(element, "identifier").text = identity.identifier(text.key)
    for alternative in text.alt_identifiers:
        etree.SubElement(element, "altIdentifier").text = alternative
    _add_curation(element, identity)
    _add_content(element, text, relationships)
    return element


def _add_curation(element: etree._Element, identity: Identity) -> None:
    curation = etree.SubElement(element, "curation")
    etree.SubElement(curation, "publisher").text = identity.publisher
    for role, value in identity.dates:
        etree.SubElement(curation, "date", role=role).text = value
    contact = etree.SubElement(curation, "contact")
    etree.SubElement(contact, "name").text = identity.contact.name
    if identity.contact.address:
        etree.SubElement(contact, "address").text = identity.contact.address
    etree.SubElement(contact, "email").text = identity.contact.email


def _add_content(element: etree._Element, text: ResourceText,
                 relationships: Sequence[tuple[str, Sequence[tuple[str, str | None]]]]) -> None:
    content = etree.SubElement(element, "content")
    for subject in text.subjects:
        etree.SubElement(content, "subject").text = subject
    etree.SubElement(content, "description").text = text.description
    if text.source:
        etree.SubElement(content, "source", format=text.source[0]).text = text.source[1]
    etree.SubElement(content, "referenceURL").text = text.reference_url
    for kind in text.content_type:
        etree.SubElement(content, "type").text = kind
    etree.SubElement(content, "contentLevel").text = "Research"
    for relationship_type, related in relationships:
        if related:
            _add_relationship(content, relationship_type, related)
    for other in text.related:
        _add_relationship(content, other.type, [(other.name, other.ivo_id)], other.alt_identifier)


def _add_relationship(content: etree._Element, kind: str, related: Sequence[tuple[str, str | None]],
                      alt_identifier: str | None = None) -> None:
    relationship = etree.SubElement(content, "relationship")
    etree.SubElement(relationship, "relationshipType").text = kind
    for name, ivo_id in related:
        resource = etree.SubElement(relationship, "relatedResource")
        resource.text = name
        if ivo_id:
            resource.set("ivo-id", ivo_id)
        if alt_identifier:
            resource.set("altIdentifier", alt_identifier)


def _split_security_methods(element: etree._Element) -> None:
    """One ``securityMethod`` per interface, as VOResource 1.2 requires: TAP 1.1 §2.4 lists every method of a
    URL in one interface (an empty one for anonymous access); here anonymous access is the interface without
    ``securityMethod`` and each other method a twin interface with the same URL."""
    for interface in list(element.iterfind("capability/interface")):
        methods = interface.findall("securityMethod")
        if not methods:
            continue
        ids = [m.get("standardID") for m in methods]
        for method in methods:
            interface.remove(method)
        named = [i for i in ids if i]
        if None not in ids and named:  # no anonymous access: the interface itself takes the first method
            etree.SubElement(interface, "securityMethod", standardID=named.pop(0))
        parent = interface.getparent()
        position = parent.index(interface)
        for offset, standard_id in enumerate(named, start=1):
            twin = copy.deepcopy(interface)
            etree.SubElement(twin, "securityMethod", standardID=standard_id)
            parent.insert(position + offset, twin)


def _add_tableset(element: etree._Element, tap_schema: TapSchema) -> None:
    """The VOSI tableset's schemas (same writer as ``/tap/tables``) without ``nrows``, which changes with
    every ingest and would re-date the record though its description did not change."""
    tableset = etree.SubElement(element, "tableset")
    for schema in etree.fromstring(write_tableset(tap_schema)):
        for nrows in schema.iterfind("table/nrows"):
            nrows.getparent().remove(nrows)
        tableset.append(schema)


def _authority(identity: Identity) -> Record:
    element = _resource("vg:Authority", identity, identity.authority_record)
    etree.SubElement(element, "managingOrg").text = identity.publisher
    return _finish(element, "vg:Authority", identity, identity.authority_record)


def _registry(identity: Identity, root: str, page_size: int) -> Record:
    element = _resource("vg:Registry", identity, identity.registry)
    _add_registry_capabilities(element, root, page_size)
    etree.SubElement(element, "full").text = "false"  # a publishing registry (RI 1.1 §3.2)
    etree.SubElement(element, "managedAuthority").text = identity.authority.removeprefix("ivo://")
    return _finish(element, "vg:Registry", identity, identity.registry)


def _add_registry_capabilities(parent: etree._Element, root: str, page_size: int) -> None:
    """OAI-PMH harvesting (RI 1.1 §3.2: ``vg:Harvest`` over ``vg:OAIHTTP``) and VOSI capabilities."""
    harvest = etree.SubElement(parent, "capability", {"standardID": REGISTRY_STANDARD_ID, _XSI_TYPE: "vg:Harvest"})
    interface = etree.SubElement(harvest, "interface", {_XSI_TYPE: "vg:OAIHTTP", "role": "std", "version": "1.0"})
    etree.SubElement(interface, "accessURL", use="base").text = f"{root}/oai"
    etree.SubElement(harvest, "maxRecords").text = str(page_size)
    vosi = etree.SubElement(parent, "capability", standardID="ivo://ivoa.net/std/VOSI#capabilities")
    vosi_interface = etree.SubElement(vosi, "interface", {_XSI_TYPE: "vs:ParamHTTP", "role": "std"})
    etree.SubElement(vosi_interface, "accessURL", use="full").text = f"{root}/oai/capabilities"


def write_registry_capabilities(root_url: str, page_size: int) -> bytes:
    """The VOSI capabilities document of the registry (``/oai/capabilities``): the same capabilities as its record."""
    document = etree.Element(f"{{{CAPABILITIES_NS}}}capabilities",
                             nsmap={"vosi": CAPABILITIES_NS, "vr": VORESOURCE_NS, "vs": VODATASERVICE_NS,
                                    "vg": VOREGISTRY_NS, "xsi": _XSI})
    _add_registry_capabilities(document, root_url, page_size)
    return etree.tostring(document, xml_declaration=True, encoding="UTF-8",  # type: ignore[no-any-return]
                          pretty_print=True)


def _finish(element: etree._Element, resource_type: str, identity: Identity, text: ResourceText) -> Record:
    digest = hashlib.sha256(etree.tostring(element, method="c14n")).hexdigest()
    return Record(identity.identifier(text.key), resource_type, text, element, digest)
