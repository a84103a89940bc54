"""A harvester's view: oaipmh-scythe against a real ``jmmctap serve``; the TAP tableset and the cone searches.

The server has the registry tests' public URL (``tests/registry/conftest.py``), so record URLs name it;
requests go to its real address, with the paths the records give.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest
import pyvo
from lxml import etree
from oaipmh_scythe import Scythe
from oaipmh_scythe.models import Header, Record

from jmmctap.acl.store import grant_table
from jmmctap.catalogues.samples import load_samples
from jmmctap.settings import Settings
from tests.registry.conftest import PAGE_SIZE, drop_test_tables, publish_test_table
from tests.registry.support import PUBLIC, RI, XSI_TYPE, assert_valid_oai, assert_valid_record

_COMPACT = etree.XMLParser(remove_blank_text=True)


@pytest.fixture
def scythe(registry_server: str) -> Iterator[Scythe]:
    harvester = Scythe(f"{registry_server}/oai")
    yield harvester
    harvester.close()


@pytest.fixture
def clean_tables(owner_conn: psycopg.Connection[Any]) -> Iterator[psycopg.Connection[Any]]:
    drop_test_tables(owner_conn)
    yield owner_conn
    drop_test_tables(owner_conn)


def _record(server: str, identifier: str) -> etree._Element:
    response = httpx.get(f"{server}/oai", params={"verb": "GetRecord", "identifier": identifier,
                                                  "metadataPrefix": "ivo_vor"})
    (resource,) = assert_valid_oai(response.content).iter(f"{{{RI}}}Resource")
    return resource


def test_harvest_lists_every_record_following_resumption_tokens(scythe: Scythe, registry_server: str) -> None:
    records = [r for r in scythe.list_records(metadata_prefix="ivo_vor", set_="ivo_managed") if isinstance(r, Record)]
    identifiers = [r.header.identifier for r in records]
    assert len(identifiers) > PAGE_SIZE  # so the harvest went through resumption tokens
    assert len(set(identifiers)) == len(identifiers)
    assert {"ivo://jmmc.fr", "ivo://jmmc.fr/registry", "ivo://jmmc.fr/tap"} <= set(identifiers)
    headers = {h.identifier for h in scythe.list_identifiers(metadata_prefix="ivo_vor") if isinstance(h, Header)}
    assert headers == set(identifiers)
    for record in records:
        if not record.deleted:
            (resource,) = record.xml.iter(f"{{{RI}}}Resource")
            assert_valid_record(etree.tostring(resource))
    assert scythe.identify().repositoryName == "JMMC publishing registry"


def test_harvest_from_a_time_gets_what_a_new_table_changed(
        scythe: Scythe, clean_tables: psycopg.Connection[Any], registry_settings: Settings) -> None:
    list(scythe.list_identifiers(metadata_prefix="ivo_vor"))  # a first harvest: everything is dated before now
    since = datetime.now(UTC).replace(microsecond=0)
    publish_test_table(clean_tables, "newly_published", registry_settings.query_role)
    changed = [h for h in scythe.list_identifiers(metadata_prefix="ivo_vor", from_=since.strftime("%Y-%m-%dT%H:%M:%SZ"))
               if isinstance(h, Header)]
    assert {"ivo://jmmc.fr/tap", "ivo://jmmc.fr/regtest-catalogue"} <= {h.identifier for h in changed}
    assert all(datetime.strptime(str(h.datestamp), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) >= since for h in changed)
    tap = _record(scythe.endpoint.removesuffix("/oai"), "ivo://jmmc.fr/tap")
    assert "regtest.newly_published" in [t.findtext("name") for t in tap.iterfind("tableset/schema/table")]


def test_tap_tableset_is_tap_tables_without_private_tables(
        registry_server: str, clean_tables: psycopg.Connection[Any], registry_settings: Settings) -> None:
    publish_test_table(clean_tables, "shown", registry_settings.query_role)
    private = publish_test_table(clean_tables, "embargoed", registry_settings.query_role)
    grant_table(clean_tables, private, ["registry-team"])
    tables = etree.fromstring(httpx.get(f"{registry_server}/tap/tables").content, _COMPACT)
    for nrows in tables.iterfind("schema/table/nrows"):
        nrows.getparent().remove(nrows)
    record = _record(registry_server, "ivo://jmmc.fr/tap")
    (tableset,) = record.findall("tableset")
    served = [etree.tostring(s, method="c14n", exclusive=True) for s in tables.findall("schema")]
    described = [etree.tostring(etree.fromstring(etree.tostring(s), _COMPACT), method="c14n", exclusive=True)
                 for s in tableset.findall("schema")]
    assert described == served
    names = [t.findtext("name") for t in record.iterfind("tableset/schema/table")]
    assert "regtest.shown" in names and private not in names


def test_cone_search_test_queries_return_rows(registry_server: str, settings: Settings) -> None:
    with psycopg.connect(_owner(settings), autocommit=True) as conn:
        load_samples(conn, settings)
    for name in ("jsdc", "obsportal"):
        record = _record(registry_server, f"ivo://jmmc.fr/scs/{name}")
        (capability,) = [c for c in record.findall("capability") if c.get(XSI_TYPE) == "cs:ConeSearch"]
        url = (capability.findtext("interface/accessURL") or "").replace(PUBLIC, registry_server)
        ra, dec, sr = (float(capability.findtext(f"testQuery/{axis}") or "nan") for axis in ("ra", "dec", "sr"))
        results = pyvo.dal.SCSService(url).search(pos=(ra, dec), radius=sr)
        assert len(results) > 0, name


def _owner(settings: Settings) -> str:
    from jmmctap.db.connect import conninfos

    return conninfos(settings).owner


def test_pyvo_reads_the_capabilities_of_the_registry_and_of_a_cone_search(registry_server: str) -> None:
    from pyvo.io import vosi

    for path, standard, url in (("/oai/capabilities", "ivo://ivoa.net/std/Registry", f"{PUBLIC}/oai"),
                                ("/scs/jsdc/capabilities", "ivo://ivoa.net/std/ConeSearch", f"{PUBLIC}/scs/jsdc?")):
        body = httpx.get(f"{registry_server}{path}").content
        with warnings.catch_warnings():  # pyvo knows no vg:Harvest nor cs:ConeSearch type: generic capabilities
            warnings.simplefilter("ignore")
            capabilities = vosi.parse_capabilities(io.BytesIO(body))
        found = {c.standardid: [i.accessurls[0].content for i in c.interfaces] for c in capabilities}
        assert found[standard] == [url]
        assert found["ivo://ivoa.net/std/VOSI#capabilities"] == [f"{PUBLIC}{path}"]
