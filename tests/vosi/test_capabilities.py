"""The VOSI capabilities document: TAP capability (TAPRegExt) plus VOSI and DALI capabilities."""

from __future__ import annotations

from dataclasses import replace

import pytest
from lxml import etree

from jmmctap.settings import Settings
from jmmctap.vosi import (
    CAPABILITIES_NS,
    Capability,
    DataModel,
    Limits,
    TapCapabilities,
    describe_tap_service,
    write_capabilities,
)
from tests.support.xsd import assert_valid

TR = "http://www.ivoa.net/xml/TAPRegExt/v1.0"
VS = "http://www.ivoa.net/xml/VODataService/v1.1"
VR = "http://www.ivoa.net/xml/VOResource/v1.0"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
NAMESPACES = (CAPABILITIES_NS, TR, VS)
BASE = "https://tap.example.org/tap"
GEO = "ivo://ivoa.net/std/tapregext#features-adqlgeo"
UDF = "ivo://ivoa.net/std/tapregext#features-udf"

FORMATS = [
    ("application/x-votable+xml", ["votable"], "ivo://ivoa.net/std/TAPRegExt#output-votable-binary2"),
    ("application/x-votable+xml;serialization=TABLEDATA", ["votable/td"],
     "ivo://ivoa.net/std/TAPRegExt#output-votable-td"),
    ("text/csv", ["csv"], None),
]
VERSIONS = [("2.1", "ivo://ivoa.net/std/ADQL#v2.1"), ("2.0", "ivo://ivoa.net/std/ADQL#v2.0")]
FEATURES = [
    (GEO, "POINT", None),
    (UDF, "ivo_hasword(haystack VARCHAR(*), needle VARCHAR(*)) -> INTEGER", "1 if needle is a word of haystack"),
    (GEO, "CIRCLE", None),
]


def _service(**changes: object) -> TapCapabilities:
    limits = Settings(maxrec_default=1234, maxrec_hard=56789, execution_duration_s=30, execution_duration_hard_s=300,
                      destruction_period_s=86400, destruction_period_hard_s=604800)
    service = describe_tap_service(limits,
                                   FORMATS, VERSIONS, FEATURES)
    return replace(service, **changes)  # type: ignore[arg-type]


def _parse(service: TapCapabilities) -> etree._Element:
    return assert_valid(write_capabilities(service, BASE), *NAMESPACES)


def _tap(root: etree._Element) -> etree._Element:
    (tap,) = [c for c in root.findall("capability") if c.get("standardID") == "ivo://ivoa.net/std/TAP"]
    return tap


def test_document_is_valid_against_vosi_capabilities_and_tapregext() -> None:
    root = _parse(_service())
    assert root.tag == f"{{{CAPABILITIES_NS}}}capabilities"


def test_exactly_one_tap_capability_typed_table_access_with_a_tap11_base_interface() -> None:
    tap = _tap(_parse(_service()))
    assert tap.get(XSI_TYPE) == "tr:TableAccess"
    (interface,) = tap.findall("interface")
    assert (interface.get(XSI_TYPE), interface.get("role"), interface.get("version")) == ("vs:ParamHTTP", "std", "1.1")
    (url,) = interface.findall("accessURL")
    assert (url.get("use"), url.text) == ("base", BASE)


def test_adql_is_declared_in_versions_21_and_20() -> None:
    (language,) = _tap(_parse(_service())).findall("language")
    assert language.findtext("name") == "ADQL"
    assert [(v.text, v.get("ivo-id")) for v in language.findall("version")] == VERSIONS


def test_features_are_grouped_by_type_in_first_seen_order_with_descriptions() -> None:
    (language,) = _tap(_parse(_service())).findall("language")
    groups = [(g.get("type"), [f.findtext("form") for f in g.findall("feature")])
              for g in language.findall("languageFeatures")]
    assert groups == [(GEO, ["POINT", "CIRCLE"]), (UDF, [FEATURES[1][1]])]
    (udf,) = language.findall(f"languageFeatures[@type='{UDF}']/feature")
    assert udf.findtext("description") == "1 if needle is a word of haystack"
    assert language.find(f"languageFeatures[@type='{GEO}']/feature/description") is None


def test_output_formats_carry_mime_aliases_and_ivo_id() -> None:
    formats = _tap(_parse(_service())).findall("outputFormat")
    found = [(f.findtext("mime"), [a.text for a in f.findall("alias")], f.get("ivo-id")) for f in formats]
    assert found == [(mime, aliases, ivo_id) for mime, aliases, ivo_id in FORMATS]


def test_limits_are_maxrec_in_rows_and_the_async_duration_and_retention_in_seconds() -> None:
    tap = _tap(_parse(_service()))
    assert [(e.text, e.get("unit")) for e in tap.find("outputLimit")] == [("1234", "row"), ("56789", "row")]
    assert [(e.tag, e.text) for e in tap.find("executionDuration")] == [("default", "30"), ("hard", "300")]
    assert [(e.tag, e.text) for e in tap.find("retentionPeriod")] == [("default", "86400"), ("hard", "604800")]


def test_undeclared_uploads_and_data_models_are_left_out() -> None:
    tap = _tap(_parse(_service()))
    for tag in ("uploadMethod", "uploadLimit", "dataModel"):
        assert tap.find(tag) is None, tag


def test_declared_uploads_and_data_models_appear_in_schema_order() -> None:
    service = _service(
        upload_methods=("ivo://ivoa.net/std/TAPRegExt#upload-inline", "ivo://ivoa.net/std/TAPRegExt#upload-http"),
        upload_limit_bytes=Limits(None, 10_000_000),
        retention_period_s=Limits(3600, None),
        data_models=(DataModel("ivo://ivoa.net/std/ObsCore#core-1.1", "ObsCore 1.1"),),
    )
    tap = _tap(_parse(service))  # the XSD checks the order
    assert tap.find("dataModel").get("ivo-id") == "ivo://ivoa.net/std/ObsCore#core-1.1"
    assert [m.get("ivo-id") for m in tap.findall("uploadMethod")] == list(service.upload_methods)
    assert [(e.tag, e.text, e.get("unit")) for e in tap.find("uploadLimit")] == [("hard", "10000000", "byte")]
    assert [(e.tag, e.text) for e in tap.find("retentionPeriod")] == [("default", "3600")]


def test_vosi_and_examples_capabilities_point_at_full_urls_under_the_base() -> None:
    root = _parse(_service())
    found = {c.get("standardID"): (c.find("interface").get(XSI_TYPE), c.find("interface/accessURL").get("use"),
                                   c.findtext("interface/accessURL"))
             for c in root.findall("capability") if c.get("standardID") != "ivo://ivoa.net/std/TAP"}
    assert found == {
        "ivo://ivoa.net/std/VOSI#capabilities": ("vs:ParamHTTP", "full", f"{BASE}/capabilities"),
        "ivo://ivoa.net/std/VOSI#availability": ("vs:ParamHTTP", "full", f"{BASE}/availability"),
        "ivo://ivoa.net/std/VOSI#tables-1.1": ("vs:ParamHTTP", "full", f"{BASE}/tables"),
        "ivo://ivoa.net/std/DALI#examples": ("vr:WebBrowser", "full", f"{BASE}/examples"),
    }


def test_examples_capability_is_declared_only_when_examples_are_served() -> None:
    root = _parse(_service(examples=False))
    assert "ivo://ivoa.net/std/DALI#examples" not in {c.get("standardID") for c in root.findall("capability")}


def test_other_services_such_as_cone_search_are_listed_after_the_tap_ones() -> None:
    cone = Capability("ivo://ivoa.net/std/ConeSearch", "https://tap.example.org/scs/jsdc?")
    root = _parse(_service(others=(cone,)))
    last = root.findall("capability")[-1]
    assert (last.get("standardID"), last.findtext("interface/accessURL")) == (cone.standard_id, cone.access_url)


def test_a_service_without_output_formats_is_not_a_valid_tap_capability() -> None:
    # TAPRegExt requires outputFormat+: the builder does not invent one
    with pytest.raises(AssertionError, match="XSD validation failed"):
        _parse(_service(output_formats=()))


def test_security_methods_are_declared_the_tap_11_way_beside_anonymous_access() -> None:
    methods = ("ivo://ivoa.net/sso#BasicAA", "ivo://ivoa.net/sso#OAuth")
    service = _service(security_methods=methods,
                       others=(Capability("ivo://ivoa.net/std/ConeSearch", "/scs/jsdc?", use="base"),))
    root = _parse(service)  # valid against VOResource: securityMethod after accessURL
    declared = {c.get("standardID"): [[m.get("standardID") for m in i.findall("securityMethod")]
                                      for i in c.findall("interface")] for c in root.findall("capability")}
    both = [[None, *methods]]  # TAP 1.1 §2.4: one interface; a securityMethod without standardID is anonymous
    assert declared["ivo://ivoa.net/std/TAP"] == both
    assert declared["ivo://ivoa.net/std/VOSI#tables-1.1"] == declared["ivo://ivoa.net/std/ConeSearch"] == both
    assert declared["ivo://ivoa.net/std/DALI#examples"] == both
    assert declared["ivo://ivoa.net/std/VOSI#capabilities"] == declared["ivo://ivoa.net/std/VOSI#availability"] == [[]]


def test_an_anonymous_only_service_declares_no_security_method() -> None:
    assert not _parse(_service()).findall(".//securityMethod")
