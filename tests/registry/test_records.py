"""VOResource records built from the identity, the public TAP_SCHEMA and the capabilities (no database)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from lxml import etree

from jmmctap.context import describe_service
from jmmctap.registry import Record, build_records, load_identity, render_record
from jmmctap.registry.records import TAP_AUX_ID, RecordInputs, write_record
from jmmctap.settings import Settings
from jmmctap.tapschema import Column, Schema, Table, TapSchema
from jmmctap.vosi.capabilities import write_capabilities
from tests.registry.support import PUBLIC, VOSI_CAPABILITIES, XSI_TYPE, assert_valid_record, capabilities_of

JSDC = Table("jsdc", "jsdc.jsdc_v2", description="JSDC", nrows=12, columns=(
    Column("jsdc.jsdc_v2", "recno", "int", ucd="meta.id;meta.main", indexed=True),
    Column("jsdc.jsdc_v2", "RAJ2000", "double", unit="deg"), Column("jsdc.jsdc_v2", "DEJ2000", "double", unit="deg"),
))
OBSCORE = Table("ivoa", "ivoa.obscore", utype="ivo://ivoa.net/std/obscore#table-1.1", columns=(
    Column("ivoa.obscore", "obs_id", "char", arraysize="*"),
    Column("ivoa.obscore", "s_region", "char", arraysize="*", xtype="adql:REGION"),
))
SECRET = Table("jsdc", "jsdc.embargoed", columns=(Column("jsdc.embargoed", "x", "double"),))
TAP_SCHEMA = TapSchema(
    schemas=(Schema("jsdc", "JSDC"), Schema("ivoa", "IVOA")), tables=(JSDC, OBSCORE, SECRET),
    grants={"jsdc.embargoed": frozenset({"team"})},
)


def _records(tap_schema: TapSchema = TAP_SCHEMA) -> dict[str, Record]:
    settings = Settings()
    inputs = RecordInputs(load_identity(), PUBLIC, describe_service(settings), tap_schema.visible_to(frozenset()),
                          settings.maxrec_hard, 50)
    return {r.identifier: r for r in build_records(inputs)}


def _document(record: Record) -> etree._Element:
    from datetime import UTC, datetime

    moment = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
    return assert_valid_record(write_record(record, moment, moment))


def test_every_record_validates_against_the_registry_schemas() -> None:
    records = _records()
    assert records
    for record in records.values():
        root = _document(record)
        assert root.get(XSI_TYPE) == record.resource_type
        assert root.findtext("identifier") == record.identifier


def test_records_are_the_authority_registry_tap_and_the_catalogues_with_published_tables() -> None:
    types = {i: r.resource_type for i, r in _records().items()}
    assert types == {
        "ivo://jmmc.fr": "vg:Authority", "ivo://jmmc.fr/registry": "vg:Registry",
        "ivo://jmmc.fr/tap": "vs:CatalogService", "ivo://jmmc.fr/scs/jsdc": "vs:CatalogService",
        "ivo://jmmc.fr/jsdc": "vs:CatalogResource", "ivo://jmmc.fr/oidb": "vs:CatalogResource",
    }  # no ObsPortal, JMDC, BadCal, SPICA tables here: no records for them nor for the ObsPortal cone search


def test_registry_record_is_a_publishing_registry_managing_the_authority() -> None:
    root = _document(_records()["ivo://jmmc.fr/registry"])
    assert (root.findtext("full"), root.findtext("managedAuthority")) == ("false", "jmmc.fr")
    (harvest,) = [c for c in root.findall("capability") if c.get(XSI_TYPE) == "vg:Harvest"]
    interface = harvest.find("interface")
    assert interface is not None and interface.get(XSI_TYPE) == "vg:OAIHTTP"
    assert (interface.findtext("accessURL"), harvest.findtext("maxRecords")) == (f"{PUBLIC}/oai", "50")


def test_tap_record_declares_the_capabilities_of_tap_capabilities_except_the_cone_searches() -> None:
    tap = _document(_records()["ivo://jmmc.fr/tap"])
    vosi = etree.fromstring(write_capabilities(describe_service(Settings()), f"{PUBLIC}/tap"))
    assert vosi.tag == f"{{{VOSI_CAPABILITIES}}}capabilities"
    served = [c for c in capabilities_of(vosi) if c[0] != "ivo://ivoa.net/std/ConeSearch"]
    assert capabilities_of(tap) == served


def test_tap_tableset_holds_public_tables_only_and_no_row_counts() -> None:
    tap = _document(_records()["ivo://jmmc.fr/tap"])
    assert [t.findtext("name") for t in tap.iterfind("tableset/schema/table")] == ["jsdc.jsdc_v2", "ivoa.obscore"]
    assert tap.find("tableset/schema/table/nrows") is None


def test_catalogue_is_served_by_tap_through_an_auxiliary_capability_and_by_its_cone_search() -> None:
    jsdc = _document(_records()["ivo://jmmc.fr/jsdc"])
    (capability,) = jsdc.findall("capability")
    assert capability.get("standardID") == TAP_AUX_ID
    assert capability.findtext("interface/accessURL") == f"{PUBLIC}/tap"
    (served_by,) = [r for r in jsdc.iterfind("content/relationship") if r.findtext("relationshipType") == "IsServedBy"]
    assert [r.get("ivo-id") for r in served_by.findall("relatedResource")] == [
        "ivo://jmmc.fr/tap", "ivo://jmmc.fr/scs/jsdc"]
    assert jsdc.findtext("content/source") == "2017yCat.2346....0B"
    assert [t.findtext("name") for t in jsdc.iterfind("tableset/schema/table")] == ["jsdc.jsdc_v2"]


def test_cone_search_record_declares_limits_and_a_test_query() -> None:
    cone = _document(_records()["ivo://jmmc.fr/scs/jsdc"])
    (capability,) = [c for c in cone.findall("capability") if c.get(XSI_TYPE) == "cs:ConeSearch"]
    assert capability.findtext("interface/accessURL") == f"{PUBLIC}/scs/jsdc?"
    assert float(capability.findtext("maxSR") or "nan") == 10.0
    assert int(capability.findtext("maxRecords") or 0) == Settings().maxrec_hard
    assert capability.findtext("verbosity") == "true"
    assert float(capability.findtext("testQuery/ra") or 0) == pytest.approx(101.28713858)
    assert float(capability.findtext("testQuery/dec") or 0) == pytest.approx(-16.71607528)


def test_digest_changes_with_the_description_but_not_with_row_counts() -> None:
    before = _records()
    more_rows = _records(replace(TAP_SCHEMA, tables=(replace(JSDC, nrows=99), OBSCORE, SECRET)))
    assert {i: r.digest for i, r in before.items()} == {i: r.digest for i, r in more_rows.items()}
    new_column = replace(JSDC, columns=(*JSDC.columns, Column("jsdc.jsdc_v2", "LDD", "double", unit="mas")))
    changed = _records(replace(TAP_SCHEMA, tables=(new_column, OBSCORE, SECRET)))
    differs = {i for i in before if before[i].digest != changed[i].digest}
    assert differs == {"ivo://jmmc.fr/tap", "ivo://jmmc.fr/scs/jsdc", "ivo://jmmc.fr/jsdc"}


def test_rendering_adds_dates_and_status_without_changing_the_record() -> None:
    from datetime import UTC, datetime

    record = _records()["ivo://jmmc.fr/tap"]
    element = render_record(record, datetime(2026, 1, 2, 3, 4, 5, 600, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))
    assert (element.get("created"), element.get("updated"), element.get("status")) == (
        "2026-01-02T03:04:05Z", "2026-02-01T00:00:00Z", "active")
    assert record.element.get("created") is None
