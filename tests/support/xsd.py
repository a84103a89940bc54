"""Validate XML against the IVOA schemas in ``schemas/``, offline.

Every remote ``schemaLocation`` met while compiling is mapped to the local copy; a namespace shared
by several versions (VOResource 1.0/1.1, VODataService 1.1/1.2) maps to the newest one.
"""

from __future__ import annotations

import functools
from pathlib import Path

from lxml import etree

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"

_LOCATIONS = {
    "http://www.ivoa.net/xml/VOResource/v1.0": "VOResource-v1.1.xsd",
    "VOResource-v1.0.xsd": "VOResource-v1.1.xsd",
    "VOResource.xsd": "VOResource-v1.1.xsd",
    "VODataService.xsd": "VODataService-v1.2.xsd",
    "http://www.ivoa.net/xml/RegistryInterface/v1.0": "RegistryInterface-v1.0.xsd",
    "http://www.ivoa.net/xml/VORegistry/v1.0": "VORegistry-v1.1.xsd",
    "http://www.ivoa.net/xml/ConeSearch/v1.0": "ConeSearch.xsd",
    "http://www.openarchives.org/OAI/2.0/": "OAI-PMH.xsd",
    "http://www.openarchives.org/OAI/2.0/oai_dc/": "oai_dc.xsd",
    "http://www.ivoa.net/xml/VODataService/v1.1": "VODataService-v1.2.xsd",
    "VODataService-v1.1.xsd": "VODataService-v1.2.xsd",
    "http://www.ivoa.net/xml/VOSICapabilities/v1.0": "VOSICapabilities-v1.0.xsd",
    "http://www.ivoa.net/xml/VOSITables/v1.0": "VOSITables-v1.1.xsd",
    "http://www.ivoa.net/xml/VOSIAvailability/v1.0": "VOSIAvailability-v1.0.xsd",
    "http://www.ivoa.net/xml/TAPRegExt/v1.0": "TAPRegExt-v1.0-Erratum1.xsd",
    "http://www.ivoa.net/xml/UWS/v1.0": "UWS-v1.1.xsd",
    "xml.xsd": "xmlnamespace.xsd",
    "xlink.xsd": "xlink.xsd",
    "stc-v1.30.xsd": "stc-v1.30.xsd",
    "http://www.ivoa.net/xml/VOTable/v1.3": "VOTable1.4.xsd",
}


_VORESOURCE_NAMES = ("http://www.ivoa.net/xml/VOResource/v1.0", "VOResource-v1.0.xsd", "VOResource-v1.1.xsd",
                     "VOResource-v1.2.xsd", "VOResource.xsd")


class _LocalResolver(etree.Resolver):  # type: ignore[misc]
    def __init__(self, voresource: str) -> None:
        super().__init__()
        self.voresource = voresource

    def resolve(self, url: str, pubid: str, context: object) -> object:
        if url in _VORESOURCE_NAMES or url.rsplit("/", 1)[-1] in _VORESOURCE_NAMES:
            return self.resolve_filename(str(SCHEMAS / self.voresource), context)
        target = _LOCATIONS.get(url) or _LOCATIONS.get(url.rsplit("/", 1)[-1])
        if target is None and (SCHEMAS / url.rsplit("/", 1)[-1]).is_file():
            target = url.rsplit("/", 1)[-1]
        if target is None:
            raise LookupError(f"no local schema for {url}")
        return self.resolve_filename(str(SCHEMAS / target), context)


@functools.cache
def schema_for(*namespaces: str, voresource: str = "VOResource-v1.1.xsd") -> etree.XMLSchema:
    """A schema importing the given namespaces (their local XSDs); VOResource in the version named.

    VOSI documents follow TAP 1.1, written against VOResource 1.1 (several ``securityMethod`` in one
    interface); registry records follow the current REC, VOResource 1.2 (one per interface).
    """
    imports = "".join(
        f'<xs:import namespace="{ns}" schemaLocation="{_LOCATIONS[ns]}"/>' for ns in namespaces
    )
    driver = (
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:jmmctap:test:driver">'
        f"{imports}</xs:schema>"
    )
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_LocalResolver(voresource))
    document = etree.fromstring(driver.encode(), parser, base_url=str(SCHEMAS / "driver.xsd"))
    return etree.XMLSchema(document)


def assert_valid(xml: bytes, *namespaces: str, voresource: str = "VOResource-v1.1.xsd") -> etree._Element:
    """Parse and validate ``xml``; fail with the schema's error log. Returns the root element."""
    root = etree.fromstring(xml)
    schema = schema_for(*(namespaces or (root.nsmap.get(root.prefix) or etree.QName(root).namespace,)),
                        voresource=voresource)
    if not schema.validate(root):
        raise AssertionError("XSD validation failed:\n" + "\n".join(str(e) for e in schema.error_log))
    return root
