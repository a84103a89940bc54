"""OAI-PMH 2.0 at /oai, in-process on the test database: six verbs, every error code, tokens, datestamps.

Every response is validated against OAI-PMH.xsd with the records inside (RegistryInterface, VOResource
1.2, VODataService, TAPRegExt, ConeSearch, VORegistry, oai_dc), offline.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from lxml import etree

from jmmctap.settings import Settings
from tests.registry.conftest import PAGE_SIZE, TEST_CATALOGUE, drop_test_tables, publish_test_table
from tests.registry.support import (
    CS,
    OAI,
    OAI_DC,
    PUBLIC,
    RI,
    VG,
    VOSI_CAPABILITIES,
    VS,
    XSI_TYPE,
    assert_valid_oai,
    capabilities_of,
    oai_errors,
    record_of,
)
from tests.support.xsd import assert_valid

N = f"{{{OAI}}}"


@pytest.fixture
def clean_tables(owner_conn: psycopg.Connection[Any]) -> Iterator[psycopg.Connection[Any]]:
    drop_test_tables(owner_conn)
    yield owner_conn
    drop_test_tables(owner_conn)


async def _oai(client: httpx.AsyncClient, **params: str) -> etree._Element:
    response = await client.get("/oai", params=params)
    assert response.status_code == 200  # OAI-PMH errors too (§3.6)
    assert response.headers["content-type"].startswith("text/xml")
    return assert_valid_oai(response.content)


async def _headers(client: httpx.AsyncClient, **params: str) -> list[etree._Element]:
    """Every header of a ListIdentifiers harvest, following the resumption tokens."""
    found: list[etree._Element] = []
    root = await _oai(client, verb="ListIdentifiers", metadataPrefix="ivo_vor", **params)
    while True:
        assert not oai_errors(root), etree.tostring(root)
        found += root.iter(f"{N}header")
        token = root.find(f"{N}ListIdentifiers/{N}resumptionToken")
        if token is None or not token.text:
            return found
        root = await _oai(client, verb="ListIdentifiers", resumptionToken=token.text)


def _stamps(headers: list[etree._Element]) -> dict[str, tuple[str, str | None]]:
    return {h.findtext(f"{N}identifier") or "": (h.findtext(f"{N}datestamp") or "", h.get("status"))
            for h in headers}


def _second(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


async def test_identify_declares_persistent_deletions_and_embeds_the_registry_record(
        oai_client: httpx.AsyncClient, registry_settings: Settings) -> None:
    root = await _oai(oai_client, verb="Identify")
    identify = root.find(f"{N}Identify")
    assert identify is not None
    assert identify.findtext(f"{N}baseURL") == f"{PUBLIC}/oai"
    assert identify.findtext(f"{N}protocolVersion") == "2.0"
    assert identify.findtext(f"{N}deletedRecord") == "persistent"
    assert identify.findtext(f"{N}granularity") == "YYYY-MM-DDThh:mm:ssZ"
    assert identify.findtext(f"{N}adminEmail") == "jmmc-user-support@jmmc.fr"
    (registry,) = identify.iter(f"{{{RI}}}Resource")
    assert registry.get(XSI_TYPE) == "vg:Registry"
    assert registry.findtext("managedAuthority") == "jmmc.fr"
    request = root.find(f"{N}request")
    assert request is not None and (request.text, request.get("verb")) == (f"{PUBLIC}/oai", "Identify")


async def test_metadata_formats_are_ivo_vor_and_oai_dc(oai_client: httpx.AsyncClient) -> None:
    for params in ({}, {"identifier": "ivo://jmmc.fr/tap"}):
        root = await _oai(oai_client, verb="ListMetadataFormats", **params)
        assert [f.findtext(f"{N}metadataPrefix") for f in root.iter(f"{N}metadataFormat")] == ["ivo_vor", "oai_dc"]


async def test_the_one_set_is_ivo_managed(oai_client: httpx.AsyncClient) -> None:
    root = await _oai(oai_client, verb="ListSets")
    assert [s.findtext(f"{N}setSpec") for s in root.iter(f"{N}set")] == ["ivo_managed"]


async def test_every_record_is_served_in_both_formats_with_the_same_datestamp(oai_client: httpx.AsyncClient) -> None:
    headers = _stamps(await _headers(oai_client))
    live = {i for i, (_, status) in headers.items() if status is None}
    assert {"ivo://jmmc.fr", "ivo://jmmc.fr/registry", "ivo://jmmc.fr/tap", "ivo://jmmc.fr/scs/jsdc",
            "ivo://jmmc.fr/jsdc", "ivo://jmmc.fr/oidb"} <= live
    for identifier in live:
        root = await _oai(oai_client, verb="GetRecord", identifier=identifier, metadataPrefix="ivo_vor")
        resource = record_of(root)
        assert resource.findtext("identifier") == identifier
        assert resource.get("updated") == root.findtext(f"{N}GetRecord/{N}record/{N}header/{N}datestamp") \
            == headers[identifier][0]
        assert resource.get("status") == "active"
        dc = await _oai(oai_client, verb="GetRecord", identifier=identifier, metadataPrefix="oai_dc")
        assert [e.text for e in dc.iter("{http://purl.org/dc/elements/1.1/}identifier")] == [identifier]
        assert dc.find(f".//{{{OAI_DC}}}dc") is not None


async def test_list_records_follows_resumption_tokens_through_every_record(oai_client: httpx.AsyncClient) -> None:
    expected = set(_stamps(await _headers(oai_client)))
    seen: list[str] = []
    root = await _oai(oai_client, verb="ListRecords", metadataPrefix="ivo_vor", set="ivo_managed")
    tokens = 0
    while True:
        records = root.findall(f"{N}ListRecords/{N}record")
        assert 0 < len(records) <= PAGE_SIZE
        seen += [r.findtext(f"{N}header/{N}identifier") or "" for r in records]
        token = root.find(f"{N}ListRecords/{N}resumptionToken")
        if token is None or not token.text:
            break
        assert (token.get("completeListSize"), token.get("cursor")) == (
            str(len(expected)), str(len(seen) - len(records)))
        tokens += 1
        root = await _oai(oai_client, verb="ListRecords", resumptionToken=token.text)
    assert tokens >= 1 and token is not None  # the last part carries an empty token (OAI-PMH §3.5)
    assert sorted(seen) == sorted(expected)


async def test_post_is_answered_like_get(oai_client: httpx.AsyncClient) -> None:
    response = await oai_client.post("/oai", data={"verb": "GetRecord", "identifier": "ivo://jmmc.fr/tap",
                                                   "metadataPrefix": "ivo_vor"})
    assert record_of(assert_valid_oai(response.content)).get(XSI_TYPE) == "vs:CatalogService"


@pytest.mark.parametrize(("params", "code"), [
    ({}, "badVerb"),
    ({"verb": "Harvest"}, "badVerb"),
    ({"verb": "Identify", "set": "ivo_managed"}, "badArgument"),
    ({"verb": "ListRecords"}, "badArgument"),
    ({"verb": "GetRecord", "identifier": "ivo://jmmc.fr/tap"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "ivo_vor", "from": "last week"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "ivo_vor", "from": "2026-01-01", "until": "2026-02-01T00:00:00Z"},
     "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "ivo_vor", "from": "2026-02-01", "until": "2026-01-01"},
     "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "ivo_vor", "resumptionToken": "x"}, "badArgument"),
    ({"verb": "ListRecords", "resumptionToken": "not-a-token"}, "badResumptionToken"),
    ({"verb": "ListSets", "resumptionToken": "x"}, "badResumptionToken"),
    ({"verb": "ListRecords", "metadataPrefix": "marc21"}, "cannotDisseminateFormat"),
    ({"verb": "GetRecord", "identifier": "ivo://jmmc.fr/tap", "metadataPrefix": "marc21"},
     "cannotDisseminateFormat"),
    ({"verb": "GetRecord", "identifier": "ivo://jmmc.fr/nothing", "metadataPrefix": "ivo_vor"}, "idDoesNotExist"),
    ({"verb": "ListMetadataFormats", "identifier": "ivo://elsewhere/x"}, "idDoesNotExist"),
    ({"verb": "ListIdentifiers", "metadataPrefix": "ivo_vor", "from": "2999-01-01"}, "noRecordsMatch"),
    ({"verb": "ListIdentifiers", "metadataPrefix": "ivo_vor", "set": "ivo_elsewhere"}, "noRecordsMatch"),
])
async def test_each_mistake_gets_its_oai_error_code(oai_client: httpx.AsyncClient, params: dict[str, str],
                                                    code: str) -> None:
    root = await _oai(oai_client, **params)
    assert oai_errors(root) == [code]
    request = root.find(f"{N}request")
    assert request is not None and request.text == f"{PUBLIC}/oai"
    if code in ("badVerb", "badArgument"):
        assert dict(request.attrib) == {}  # OAI-PMH §3.2: no arguments echoed for an illegal request


async def test_repeated_verb_or_argument_is_illegal(oai_client: httpx.AsyncClient) -> None:
    for query in ("verb=Identify&verb=Identify", "verb=ListRecords&metadataPrefix=ivo_vor&metadataPrefix=oai_dc"):
        response = await oai_client.get(f"/oai?{query}")
        assert oai_errors(assert_valid_oai(response.content)) in (["badVerb"], ["badArgument"])


async def test_datestamps_stay_while_nothing_changes(oai_client: httpx.AsyncClient) -> None:
    first = _stamps(await _headers(oai_client))
    assert _stamps(await _headers(oai_client)) == first


async def test_a_new_catalogue_gets_a_record_and_stays_as_a_deleted_record_once_removed(
        oai_client: httpx.AsyncClient, clean_tables: psycopg.Connection[Any], registry_settings: Settings) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    publish_test_table(clean_tables, "stars", registry_settings.query_role)
    stamps = _stamps(await _headers(oai_client))
    assert stamps[TEST_CATALOGUE][1] is None and _second(stamps[TEST_CATALOGUE][0]) >= before
    assert _second(stamps["ivo://jmmc.fr/tap"][0]) >= before  # its tableset changed
    since = await _headers(oai_client, **{"from": stamps[TEST_CATALOGUE][0]})
    assert {TEST_CATALOGUE, "ivo://jmmc.fr/tap"} <= set(_stamps(since))
    assert all(_second(h.findtext(f"{N}datestamp") or "") >= _second(stamps[TEST_CATALOGUE][0]) for h in since)

    drop_test_tables(clean_tables)
    after = _stamps(await _headers(oai_client))
    assert after[TEST_CATALOGUE][1] == "deleted"
    root = await _oai(oai_client, verb="GetRecord", identifier=TEST_CATALOGUE, metadataPrefix="ivo_vor")
    record = root.find(f"{N}GetRecord/{N}record")
    assert record is not None and record.find(f"{N}metadata") is None
    header = record.find(f"{N}header")
    assert header is not None and header.get("status") == "deleted"


async def test_until_a_day_includes_that_whole_day(oai_client: httpx.AsyncClient) -> None:
    stamps = _stamps(await _headers(oai_client))
    day = min(_second(d) for d, _ in stamps.values())
    included = _stamps(await _headers(oai_client, until=day.strftime("%Y-%m-%d")))
    assert set(included) == {i for i, (d, _) in stamps.items() if _second(d) < day.replace(hour=0, minute=0, second=0)
                             + timedelta(days=1)}


async def test_registry_capabilities_are_those_of_its_record(oai_client: httpx.AsyncClient) -> None:
    response = await oai_client.get("/oai/capabilities")
    vosi = assert_valid(response.content, VOSI_CAPABILITIES, VS, VG, voresource="VOResource-v1.2.xsd")
    root = await _oai(oai_client, verb="GetRecord", identifier="ivo://jmmc.fr/registry", metadataPrefix="ivo_vor")
    assert capabilities_of(vosi) == capabilities_of(record_of(root))


async def test_cone_search_capabilities_are_those_of_its_record(oai_client: httpx.AsyncClient) -> None:
    response = await oai_client.get("/scs/jsdc/capabilities")
    vosi = assert_valid(response.content, VOSI_CAPABILITIES, VS, CS, voresource="VOResource-v1.2.xsd")
    root = await _oai(oai_client, verb="GetRecord", identifier="ivo://jmmc.fr/scs/jsdc", metadataPrefix="ivo_vor")
    assert capabilities_of(vosi) == capabilities_of(record_of(root))
    assert (await oai_client.get("/scs/gaia/capabilities")).status_code == 404
