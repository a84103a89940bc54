"""The VOSI capabilities document: the TAP capability (TAPRegExt 1.0) and the VOSI/DALI ones (VOSI 1.1 §3.1).

The service is described by a frozen ``TapCapabilities`` built from plain data (output formats,
ADQL language features and UDFs, upload methods, limits, data models); the base URL is given
per request because it depends on how the client reached us (or on ``public_url``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

from jmmctap.settings import Settings

__all__ = [
    "CAPABILITIES_NS",
    "TAPREGEXT_NS",
    "VODATASERVICE_NS",
    "VORESOURCE_NS",
    "Capability",
    "DataModel",
    "LanguageFeature",
    "Limits",
    "OutputFormat",
    "TapCapabilities",
    "add_capabilities",
    "describe_tap_service",
    "vosi_capabilities",
    "write_capabilities",
]

CAPABILITIES_NS = "http://www.ivoa.net/xml/VOSICapabilities/v1.0"
"""Namespace of the VOSI capabilities root element."""
VORESOURCE_NS = "http://www.ivoa.net/xml/VOResource/v1.0"
"""Namespace of VOResource 1.0/1.1 (``vr:`` types such as ``vr:WebBrowser``)."""
VODATASERVICE_NS = "http://www.ivoa.net/xml/VODataService/v1.1"
"""Namespace of VODataService 1.1/1.2 (``vs:ParamHTTP``)."""
TAPREGEXT_NS = "http://www.ivoa.net/xml/TAPRegExt/v1.0"
"""Namespace of TAPRegExt 1.0 (``tr:TableAccess``)."""
_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
_NSMAP = {"vosi": CAPABILITIES_NS, "vr": VORESOURCE_NS, "vs": VODATASERVICE_NS, "tr": TAPREGEXT_NS,
          "xsi": "http://www.w3.org/2001/XMLSchema-instance"}

TAP_STANDARD_ID = "ivo://ivoa.net/std/TAP"
"""Standard identifier of TAP (the same for 1.0 and 1.1; the interface ``version`` tells them apart)."""

@dataclass(frozen=True)
class OutputFormat:
    """A ``RESPONSEFORMAT`` the service writes: its MIME type, short aliases and optional TAPRegExt ivo-id."""

    mime: str
    aliases: tuple[str, ...] = ()
    ivo_id: str | None = None


@dataclass(frozen=True)
class LanguageFeature:
    """One optional ADQL feature or UDF: feature-type IVOID (TAPRegExt §2.3), form, description."""

    type: str
    form: str
    description: str | None = None


@dataclass(frozen=True)
class DataModel:
    """A data model the service fully implements: ivo-id and a human label."""

    ivo_id: str
    label: str


@dataclass(frozen=True)
class Limits:
    """A TAPRegExt limit pair; ``None`` leaves an element out (time limits in seconds)."""

    default: int | None = None
    hard: int | None = None


_CONE_SEARCH_ID = "ivo://ivoa.net/std/ConeSearch"
"""Simple Cone Search (as ``jmmctap.scs.CONE_SEARCH_ID``: the VOSI layer does not import the query path)."""


@dataclass(frozen=True)
class Capability:
    """A non-TAP capability: standard ID, access URL and interface type (``vs:ParamHTTP`` or ``vr:WebBrowser``).

    VOSI and DALI-examples capabilities are derived from the base URL (``vosi_capabilities``); other
    services of the data centre (e.g. Simple Cone Search) are added as ``TapCapabilities.others``.
    """

    standard_id: str
    access_url: str
    interface: str = "vs:ParamHTTP"
    use: str = "full"
    """``accessURL/@use``; SCS wants ``base``. An ``access_url`` starting with ``/`` is relative to the
    service root (the TAP base URL without ``/tap``), resolved per request."""
    anonymous_only: bool = False
    """True for VOSI capabilities and availability: TAP 1.1 §2.4 shows them without ``securityMethod``."""


@dataclass(frozen=True)
class TapCapabilities:
    """Everything the capabilities document says about the TAP service, except its base URL."""

    output_formats: tuple[OutputFormat, ...]
    adql_versions: tuple[tuple[str, str], ...]
    language_features: tuple[LanguageFeature, ...] = ()
    data_models: tuple[DataModel, ...] = ()
    upload_methods: tuple[str, ...] = ()
    retention_period_s: Limits | None = None
    execution_duration_s: Limits | None = None
    output_limit_rows: Limits | None = None
    upload_limit_bytes: Limits | None = None
    examples: bool = True
    others: tuple[Capability, ...] = ()
    security_methods: tuple[str, ...] = ()
    """IVOA SSO ``securityMethod`` ids each interface also accepts, besides anonymous access."""


def describe_tap_service(
    settings: Settings,
    output_formats: Iterable[tuple[str, Iterable[str], str | None]],
    adql_versions: Iterable[tuple[str, str]],
    language_features: Iterable[tuple[str, str, str | None]] = (),
    *,
    upload_methods: Iterable[str] = (),
    upload_limit_bytes: Limits | None = None,
    data_models: Iterable[DataModel] = (),
    others: Iterable[Capability] = (),
    security_methods: Iterable[str] = (),
) -> TapCapabilities:
    """Describe the TAP service from plain data and the settings' limits.

    Parameters
    ----------
    settings
        Gives ``outputLimit`` (``maxrec_default``/``maxrec_hard`` rows), and ``executionDuration`` and
        ``retentionPeriod`` of async jobs (``execution_duration[_hard]_s``, ``destruction_period[_hard]_s``).
    output_formats
        ``(mime, aliases, ivo_id)`` of every response format.
    adql_versions
        ``(version, ivo-id)`` of every ADQL version accepted, newest first.
    language_features
        ``(feature type IVOID, form, description)`` of every optional ADQL feature and UDF.
    upload_methods, upload_limit_bytes, data_models, others
        Declared only once implemented (uploads on sync and async, ObsCore, Simple Cone Search).
    security_methods
        Authentication methods (IVOA SSO ids) every interface accepts besides anonymous access.
    """
    return TapCapabilities(
        output_formats=tuple(OutputFormat(mime, tuple(aliases), ivo_id) for mime, aliases, ivo_id in output_formats),
        adql_versions=tuple(adql_versions),
        language_features=tuple(LanguageFeature(kind, form, text) for kind, form, text in language_features),
        data_models=tuple(data_models),
        upload_methods=tuple(upload_methods),
        # pyvo waits executionDuration/default for an async job
        retention_period_s=Limits(settings.destruction_period_s, settings.destruction_period_hard_s),
        execution_duration_s=Limits(settings.execution_duration_s, settings.execution_duration_hard_s),
        output_limit_rows=Limits(settings.maxrec_default, settings.maxrec_hard),
        upload_limit_bytes=upload_limit_bytes,
        others=tuple(others),
        security_methods=tuple(security_methods),
    )


def vosi_capabilities(base_url: str, examples: bool = True) -> list[Capability]:
    """The VOSI capabilities (capabilities, availability, tables 1.1) and DALI examples of a TAP base URL."""
    found = [
        Capability("ivo://ivoa.net/std/VOSI#capabilities", f"{base_url}/capabilities", anonymous_only=True),
        Capability("ivo://ivoa.net/std/VOSI#availability", f"{base_url}/availability", anonymous_only=True),
        Capability("ivo://ivoa.net/std/VOSI#tables-1.1", f"{base_url}/tables"),
    ]
    if examples:  # declared iff /examples exists (TAP 1.1 §2.6; taplint E-EXA-EXDH)
        found.append(Capability("ivo://ivoa.net/std/DALI#examples", f"{base_url}/examples", "vr:WebBrowser"))
    return found


def write_capabilities(service: TapCapabilities, base_url: str) -> bytes:
    """The VOSI capabilities XML of the TAP service at ``base_url`` (no trailing slash).

    Parameters
    ----------
    service
        What the service offers.
    base_url
        The TAP base URL, e.g. ``https://tap.jmmc.fr/tap``; clients append ``/sync``, ``/async``…

    Returns
    -------
    bytes
        The UTF-8 document, root ``vosi:capabilities``.
    """
    root = etree.Element(f"{{{CAPABILITIES_NS}}}capabilities", nsmap=_NSMAP)
    add_capabilities(root, service, base_url)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)  # type: ignore[no-any-return]


def add_capabilities(parent: etree._Element, service: TapCapabilities, base_url: str, *, others: bool = True) -> None:
    """Append the ``capability`` elements of the TAP service to ``parent``.

    The VOSI document and the service's VOResource record (``jmmctap.registry``) both call this, so
    they declare the same capabilities. ``parent``'s namespace map must bind ``vr``, ``vs`` and ``tr``.

    Parameters
    ----------
    parent
        ``vosi:capabilities`` or a VOResource ``Resource``.
    service, base_url
        As for ``write_capabilities``.
    others
        False leaves out the cone searches, services with records of their own; DataLink, which serves the
        TAP results' links, stays.
    """
    _add_tap(parent, service, base_url)
    kept = service.others if others else tuple(c for c in service.others if c.standard_id != _CONE_SEARCH_ID)
    for capability in (*vosi_capabilities(base_url, service.examples), *kept):
        _add_capability(parent, capability, base_url, service.security_methods)


def _add_interface(capability: etree._Element, attributes: dict[str, str], url: str, use: str,
                   security_methods: tuple[str, ...]) -> None:
    """The interface at ``url``: anonymous, or anonymous and each of ``security_methods``.

    TAP 1.1 §2.4: one interface lists every method its URL accepts; a ``securityMethod`` without
    ``standardID`` is anonymous access beside them. pyvo's ``AuthURLs`` reads it so.
    """
    interface = etree.SubElement(capability, "interface", attributes)
    etree.SubElement(interface, "accessURL", use=use).text = url
    for method in (None, *security_methods) if security_methods else ():
        etree.SubElement(interface, "securityMethod", {} if method is None else {"standardID": method})


def _add_capability(root: etree._Element, capability: Capability, base_url: str,
                    security_methods: tuple[str, ...]) -> None:
    element = etree.SubElement(root, "capability", standardID=capability.standard_id)
    attributes = {_XSI_TYPE: capability.interface}
    if capability.interface == "vs:ParamHTTP":
        attributes["role"] = "std"
    url = capability.access_url
    if url.startswith("/"):
        url = base_url.removesuffix("/tap") + url
    _add_interface(element, attributes, url, capability.use, () if capability.anonymous_only else security_methods)


def _add_tap(root: etree._Element, service: TapCapabilities, base_url: str) -> None:
    tap = etree.SubElement(root, "capability", {"standardID": TAP_STANDARD_ID, _XSI_TYPE: "tr:TableAccess"})
    _add_interface(tap, {_XSI_TYPE: "vs:ParamHTTP", "role": "std", "version": "1.1"}, base_url, "base",
                   service.security_methods)
    # TAPRegExt schema order: dataModel*, language+, outputFormat+, uploadMethod*, limits
    for model in service.data_models:
        etree.SubElement(tap, "dataModel", {"ivo-id": model.ivo_id}).text = model.label
    _add_language(tap, service.adql_versions, service.language_features)
    for output in service.output_formats:
        _add_output_format(tap, output)
    for method in service.upload_methods:
        etree.SubElement(tap, "uploadMethod", {"ivo-id": method})
    _add_limits(tap, "retentionPeriod", service.retention_period_s, None)
    _add_limits(tap, "executionDuration", service.execution_duration_s, None)
    _add_limits(tap, "outputLimit", service.output_limit_rows, "row")
    _add_limits(tap, "uploadLimit", service.upload_limit_bytes, "byte")


def _add_language(
    tap: etree._Element, versions: tuple[tuple[str, str], ...], features: tuple[LanguageFeature, ...]
) -> None:
    language = etree.SubElement(tap, "language")
    etree.SubElement(language, "name").text = "ADQL"
    for version, ivo_id in versions:
        etree.SubElement(language, "version", {"ivo-id": ivo_id}).text = version
    etree.SubElement(language, "description").text = (
        "ADQL 2.1 (ADQL 2.0 queries are accepted too), translated to PostgreSQL with pgSphere"
    )
    by_type: dict[str, list[LanguageFeature]] = {}
    for feature in features:  # one languageFeatures list per type, in first-seen order
        by_type.setdefault(feature.type, []).append(feature)
    for kind, group in by_type.items():
        listing = etree.SubElement(language, "languageFeatures", type=kind)
        for feature in group:
            element = etree.SubElement(listing, "feature")
            etree.SubElement(element, "form").text = feature.form
            if feature.description:
                etree.SubElement(element, "description").text = feature.description


def _add_output_format(tap: etree._Element, output: OutputFormat) -> None:
    element = etree.SubElement(tap, "outputFormat")
    if output.ivo_id:
        element.set("ivo-id", output.ivo_id)
    etree.SubElement(element, "mime").text = output.mime
    for alias in output.aliases:
        etree.SubElement(element, "alias").text = alias


def _add_limits(tap: etree._Element, name: str, limits: Limits | None, unit: str | None) -> None:
    if limits is None or (limits.default is None and limits.hard is None):
        return
    element = etree.SubElement(tap, name)
    for tag, value in (("default", limits.default), ("hard", limits.hard)):
        if value is not None:
            child = etree.SubElement(element, tag)
            child.text = str(value)
            if unit is not None:
                child.set("unit", unit)
