"""DataLink 1.1 {links} of ObsCore granules, and the service descriptor that leads clients to it."""

from __future__ import annotations

import io
from typing import Any

import httpx
import psycopg
import pytest
from astropy.io.votable import parse
from astropy.table import Table

from jmmctap.products.catalog import set_documentation
from jmmctap.products.datalink import DATALINK_STANDARD_ID, LINKS_MEDIA_TYPE
from jmmctap.settings import Settings
from tests.products.conftest import ACHERNAR_FILE, AMBER_FILE, MATISSE_FILE, did_of, stored_key
from tests.support.accounts import TestAccount


def _links(response: httpx.Response) -> Table:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == LINKS_MEDIA_TYPE
    return parse(io.BytesIO(response.content)).get_first_table().to_table()


def _by_semantics(table: Table) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for row in table:
        found.setdefault(str(row["semantics"]), []).append(row)
    return found


async def test_a_stored_product_links_to_its_file_and_its_preview(
        products_client: httpx.AsyncClient, products_conn: psycopg.Connection[Any],
        products_settings: Settings) -> None:
    root = products_settings.public_url
    did, key = did_of(products_conn, ACHERNAR_FILE.name), stored_key(products_conn, ACHERNAR_FILE.name)
    links = _by_semantics(_links(await products_client.get("/datalink/links", params={"ID": did})))
    (this,), (preview,) = links["#this"], links["#preview"]
    assert this["access_url"] == f"{root}/products/{key}/{ACHERNAR_FILE.name}"
    assert int(this["content_length"]) == ACHERNAR_FILE.stat().st_size
    assert this["content_type"] == "application/x-oifits"
    assert preview["access_url"] == f"{root}/previews/{key}.png"
    assert preview["content_type"] == "image/png"
    assert {str(row["ID"]) for rows in links.values() for row in rows} == {did}


async def test_a_product_and_its_exposure_link_to_each_other(
        products_client: httpx.AsyncClient, products_conn: psycopg.Connection[Any],
        people: dict[str, TestAccount]) -> None:
    product = did_of(products_conn, MATISSE_FILE.name)
    links = _by_semantics(_links(await products_client.get("/datalink/links", params={"ID": product},
                                                           auth=people["carol"].basic)))
    (progenitor,) = links["#progenitor"]
    exposure = str(progenitor["access_url"]).rpartition("ID=")[2].replace("%3A", ":").replace("%2F", "/") \
        .replace("%3F", "?")
    row = products_conn.execute("SELECT calib_level, instrument_name FROM ivoa.obscore WHERE obs_publisher_did = %s",
                                [exposure]).fetchone()
    assert row == (0, "MATISSE")
    back = _by_semantics(_links(await products_client.get(progenitor["access_url"])))
    assert [str(r["access_url"]).endswith(product.rpartition("?")[2]) for r in back["#derivation"]] == [True]
    assert str(back["#this"][0]["access_url"]).startswith("http://archive.eso.org/")


async def test_several_ids_are_answered_in_one_document_each_in_consecutive_rows(
        products_client: httpx.AsyncClient, products_conn: psycopg.Connection[Any]) -> None:
    ids = [did_of(products_conn, ACHERNAR_FILE.name), "ivo://jmmc.fr/oidb?0",
           did_of(products_conn, "2012-03-24_ALL_oiDataCalib.fits")]
    table = _links(await products_client.post("/datalink/links", data={"ID": ids}))
    order = [str(i) for i in table["ID"]]
    assert list(dict.fromkeys(order)) == ids
    unknown = table[table["ID"] == "ivo://jmmc.fr/oidb?0"]
    assert [str(m).split(":")[0] for m in unknown["error_message"]] == ["NotFoundFault"]


async def test_a_closed_granule_among_open_ones_is_a_fault_row(
        products_client: httpx.AsyncClient, products_conn: psycopg.Connection[Any]) -> None:
    embargoed, released = did_of(products_conn, MATISSE_FILE.name), did_of(products_conn, ACHERNAR_FILE.name)
    table = _links(await products_client.get("/datalink/links", params={"ID": [embargoed, released]}))
    closed = table[table["ID"] == embargoed]
    assert len(closed) == 1
    assert str(closed["error_message"][0]) == (
        "DefaultFault: this granule is under embargo until 2031-06-01; log in to reach it")
    assert (str(closed["link_auth"][0]), str(closed["link_authorized"][0])) == ("true", "false")
    assert len(table[table["ID"] == released]) >= 2


@pytest.mark.parametrize("file_name", [MATISSE_FILE.name, AMBER_FILE.name], ids=["embargoed", "private"])
async def test_the_links_of_a_closed_granule_alone_are_401_or_403_as_its_file(
        products_client: httpx.AsyncClient, products_conn: psycopg.Connection[Any], people: dict[str, TestAccount],
        file_name: str) -> None:
    params = {"ID": did_of(products_conn, file_name)}
    anonymous = await products_client.get("/datalink/links", params=params)
    assert anonymous.status_code == 401
    assert "Bearer" in anonymous.headers["www-authenticate"]
    assert (await products_client.get("/datalink/links", params=params, auth=people["bob"].basic)).status_code == 403


async def test_a_collection_with_documentation_links_to_it(
        products_client: httpx.AsyncClient, products_conn: psycopg.Connection[Any]) -> None:
    set_documentation(products_conn, "samples_pionier", "https://www.jmmc.fr/pionier")
    links = _by_semantics(_links(await products_client.get(
        "/datalink/links", params={"ID": did_of(products_conn, ACHERNAR_FILE.name)})))
    assert [str(r["access_url"]) for r in links["#documentation"]] == ["https://www.jmmc.fr/pionier"]


async def test_a_request_without_id_is_a_usage_error(products_client: httpx.AsyncClient) -> None:
    response = await products_client.get("/datalink/links")
    assert response.status_code == 400
    assert b"UsageFault" in response.content


async def test_obscore_results_carry_the_datalink_descriptor_only_with_the_id_column(
        products_client: httpx.AsyncClient, products_settings: Settings) -> None:
    async def resources(query: str) -> list[Any]:
        response = await products_client.get("/tap/sync", params={"QUERY": query, "FORMAT": "votable/td"})
        assert response.status_code == 200
        return [r for r in parse(io.BytesIO(response.content)).resources if r.type == "meta"]

    (descriptor,) = await resources("SELECT TOP 2 obs_id, obs_publisher_did FROM ivoa.obscore")
    assert descriptor.utype == "adhoc:service"
    params = {p.name: p for p in descriptor.params}
    assert params["standardID"].value == DATALINK_STANDARD_ID
    assert params["accessURL"].value == f"{products_settings.public_url}/datalink/links"
    (id_param,) = descriptor.groups[0].entries
    assert (id_param.name, id_param.ref) == ("ID", "obs_publisher_did")
    assert await resources("SELECT TOP 2 obs_id FROM ivoa.obscore") == []


async def test_the_oidb_datalink_view_lists_the_quick_plots_of_what_the_caller_may_see(
        products_client: httpx.AsyncClient, products_conn: psycopg.Connection[Any],
        people: dict[str, TestAccount]) -> None:
    query = {"QUERY": "SELECT t.id, t.access_url, t.content_type, t.semantics FROM oidb_datalink AS t",
             "FORMAT": "votable/td"}
    anonymous = parse(io.BytesIO((await products_client.get("/tap/sync", params=query)).content)).get_first_table()
    alice = parse(io.BytesIO((await products_client.get("/tap/sync", params=query, auth=people["alice"].basic)
                              ).content)).get_first_table()
    private = products_conn.execute("SELECT count(*) FROM ivoa.obscore WHERE obs_collection = 'team_private'"
                                    ).fetchone()
    assert private is not None and len(alice.array) == len(anonymous.array) + private[0]
    key = stored_key(products_conn, ACHERNAR_FILE.name)
    rows = anonymous.to_table()
    assert any(str(u).endswith(f"/previews/{key}.png") for u in rows["access_url"])
    assert set(rows["content_type"]) == {"application/png"}
    assert set(rows["semantics"]) == {"#preview"}
