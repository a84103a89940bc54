"""The Simple Cone Search capability (``cs:ConeSearch``, SCS 1.03 App. B) and the VOSI capabilities of a cone search.

``/scs/{name}/capabilities`` and the cone search's VOResource record (``jmmctap.registry``) both build
their capability here, so a validator or RegTAP sees the same ``maxSR``, ``maxRecords`` and ``testQuery``.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from jmmctap.vosi.capabilities import CAPABILITIES_NS, VODATASERVICE_NS, VORESOURCE_NS

__all__ = ["CONESEARCH_NS", "ConeCapability", "add_cone_capabilities", "write_cone_capabilities"]

CONESEARCH_NS = "http://www.ivoa.net/xml/ConeSearch/v1.0"
"""Namespace of the ConeSearch registry extension (prefix ``cs``)."""
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_XSI_TYPE = f"{{{_XSI}}}type"
_NSMAP = {"vosi": CAPABILITIES_NS, "vr": VORESOURCE_NS, "vs": VODATASERVICE_NS, "cs": CONESEARCH_NS, "xsi": _XSI}


@dataclass(frozen=True)
class ConeCapability:
    """What the ``cs:ConeSearch`` capability declares: limits, verbosity and a cone known to return rows."""

    access_url: str
    """The base URL, ending in ``?`` (SCS 1.03 §2 item 1)."""
    max_sr_deg: float
    max_records: int
    test_ra: float
    test_dec: float
    test_sr: float
    verbosity: bool = True
    """True: ``VERB`` 1 to 3 select fewer or more columns."""


def add_cone_capabilities(parent: etree._Element, cone: ConeCapability) -> None:
    """Append the cone search capability and the VOSI capabilities one to ``parent`` (binds ``vs`` and ``cs``)."""
    capability = etree.SubElement(parent, "capability",
                                  {"standardID": "ivo://ivoa.net/std/ConeSearch", _XSI_TYPE: "cs:ConeSearch"})
    interface = etree.SubElement(capability, "interface", {_XSI_TYPE: "vs:ParamHTTP", "role": "std"})
    etree.SubElement(interface, "accessURL", use="base").text = cone.access_url
    etree.SubElement(capability, "maxSR").text = repr(cone.max_sr_deg)
    etree.SubElement(capability, "maxRecords").text = str(cone.max_records)
    etree.SubElement(capability, "verbosity").text = "true" if cone.verbosity else "false"
    query = etree.SubElement(capability, "testQuery")
    for name, value in (("ra", cone.test_ra), ("dec", cone.test_dec), ("sr", cone.test_sr)):
        etree.SubElement(query, name).text = repr(value)
    vosi = etree.SubElement(parent, "capability", standardID="ivo://ivoa.net/std/VOSI#capabilities")
    vosi_interface = etree.SubElement(vosi, "interface", {_XSI_TYPE: "vs:ParamHTTP", "role": "std"})
    etree.SubElement(vosi_interface, "accessURL", use="full").text = (
        cone.access_url.rstrip("?&") + "/capabilities")


def write_cone_capabilities(cone: ConeCapability) -> bytes:
    """The VOSI capabilities document of one cone search (``/scs/{name}/capabilities``)."""
    root = etree.Element(f"{{{CAPABILITIES_NS}}}capabilities", nsmap=_NSMAP)
    add_cone_capabilities(root, cone)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)  # type: ignore[no-any-return]
