"""Shared helpers of the registry tests: namespaces, XSD validation of OAI-PMH documents and records."""

from __future__ import annotations

from lxml import etree

from tests.support.xsd import assert_valid

OAI = "http://www.openarchives.org/OAI/2.0/"
RI = "http://www.ivoa.net/xml/RegistryInterface/v1.0"
VR = "http://www.ivoa.net/xml/VOResource/v1.0"
VS = "http://www.ivoa.net/xml/VODataService/v1.1"
TR = "http://www.ivoa.net/xml/TAPRegExt/v1.0"
CS = "http://www.ivoa.net/xml/ConeSearch/v1.0"
VG = "http://www.ivoa.net/xml/VORegistry/v1.0"
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
VOSI_CAPABILITIES = "http://www.ivoa.net/xml/VOSICapabilities/v1.0"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
PUBLIC = "https://vo.jmmc.test"
"""The public URL every registry test server is given: all of them build the same records."""

RECORD_SCHEMAS = (RI, VS, TR, CS, VG)
"""Every extension a record of ours uses."""
OAI_SCHEMAS = (OAI, OAI_DC, *RECORD_SCHEMAS)


_COMPACT = etree.XMLParser(remove_blank_text=True)
"""Indentation is not content."""


def assert_valid_oai(body: bytes) -> etree._Element:
    """Validate an OAI-PMH response, records and Identify description included (strict ``any``)."""
    return assert_valid(body, *OAI_SCHEMAS, voresource="VOResource-v1.2.xsd")


def assert_valid_record(body: bytes) -> etree._Element:
    """Validate one ``ri:Resource`` document."""
    return assert_valid(body, *RECORD_SCHEMAS, voresource="VOResource-v1.2.xsd")


def oai_errors(root: etree._Element) -> list[str]:
    return [e.get("code", "") for e in root.findall(f"{{{OAI}}}error")]


def record_of(root: etree._Element) -> etree._Element:
    """The ``ri:Resource`` of a GetRecord answer."""
    (resource,) = root.iter(f"{{{RI}}}Resource")
    return resource


def capabilities_of(resource: etree._Element) -> list[tuple[object, ...]]:
    """Each capability of a record or VOSI document: standardID, type, interfaces as (type, role, version, URL,
    security method) with one security method each (VOResource 1.2's form of TAP 1.1's list), other children."""
    found: list[tuple[object, ...]] = []
    for capability in resource.findall("capability"):
        interfaces = []
        for interface in capability.findall("interface"):
            methods = [m.get("standardID") for m in interface.findall("securityMethod")] or [None]
            interfaces += [(interface.get(XSI_TYPE), interface.get("role"), interface.get("version"),
                            interface.findtext("accessURL"), method) for method in methods]
        others = [etree.tostring(etree.fromstring(etree.tostring(c), _COMPACT), method="c14n", exclusive=True)
                  for c in capability if c.tag != "interface"]
        found.append((capability.get("standardID"), capability.get(XSI_TYPE), sorted(interfaces, key=str), others))
    return found
