"""``/products/{sha256}/{name}`` and ``/previews/{sha256}.png`` over HTTP: the bytes, their checksums, byte
ranges, revalidation, and the embargo answered as the accounts answer (401 with a challenge, 403)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx
import psycopg
import pytest
from starlette.applications import Starlette

from jmmctap.context import context_of
from jmmctap.products.preview import PREVIEW_SUFFIX
from tests.products.conftest import ACHERNAR_FILE, AMBER_FILE, MATISSE_FILE, stored_key
from tests.support.accounts import TestAccount

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _url(conn: psycopg.Connection[Any], file_name: str) -> str:
    return f"/products/{stored_key(conn, file_name)}/{file_name}"


async def test_a_released_file_is_served_whole_with_its_checksums(
        products_client: httpx.AsyncClient, products_conn: psycopg.Connection[Any]) -> None:
    content = ACHERNAR_FILE.read_bytes()
    digest = hashlib.sha256(content)
    response = await products_client.get(_url(products_conn, ACHERNAR_FILE.name))
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["content-length"] == str(len(content))
    assert response.headers["etag"] == f'"{digest.hexdigest()}"'
    assert response.headers["repr-digest"] == f"sha-256=:{base64.b64encode(digest.digest()).decode()}:"
    assert response.headers["accept-ranges"] == "bytes"
    assert ACHERNAR_FILE.name in response.headers["content-disposition"]


async def test_head_tells_the_size_and_etag_without_the_body(
        products_client: httpx.AsyncClient, products_conn: psycopg.Connection[Any]) -> None:
    response = await products_client.head(_url(products_conn, ACHERNAR_FILE.name))
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) == ACHERNAR_FILE.stat().st_size
    assert response.headers["etag"].strip('"') == stored_key(products_conn, ACHERNAR_FILE.name)


@pytest.mark.parametrize(("header", "start", "end"), [("bytes=0-79", 0, 80), ("bytes=2880-", 2880, None),
                                                      ("bytes=-100", -100, None)])
async def test_a_byte_range_is_a_206_with_its_content_range(
        products_client: httpx.AsyncClient, products_conn: psycopg.Connection[Any], header: str, start: int,
        end: int | None) -> None:
    content = ACHERNAR_FILE.read_bytes()
    response = await products_client.get(_url(products_conn, ACHERNAR_FILE.name), headers={"Range": header})
    assert response.status_code == 206
    assert response.content == content[start:end]
    first = start if start >= 0 else len(content) + start
    assert response.headers["content-range"] == f"bytes {first}-{first + len(response.content) - 1}/{len(content)}"


async def test_a_range_past_the_end_is_416(
        products_client: httpx.AsyncClient, products_conn: psycopg.Connection[Any]) -> None:
    size = ACHERNAR_FILE.stat().st_size
    response = await products_client.get(_url(products_conn, ACHERNAR_FILE.name),
                                         headers={"Range": f"bytes={size}-"})
    assert response.status_code == 416


async def test_a_client_holding_the_file_is_told_it_has_not_changed(
        products_client: httpx.AsyncClient, products_conn: psycopg.Connection[Any]) -> None:
    url = _url(products_conn, ACHERNAR_FILE.name)
    etag = (await products_client.head(url)).headers["etag"]
    assert (await products_client.get(url, headers={"If-None-Match": etag})).status_code == 304
    assert (await products_client.get(url, headers={"If-None-Match": '"other"'})).status_code == 200


async def test_if_range_with_an_old_etag_sends_the_whole_file(
        products_client: httpx.AsyncClient, products_conn: psycopg.Connection[Any]) -> None:
    response = await products_client.get(_url(products_conn, ACHERNAR_FILE.name),
                                         headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert response.status_code == 200
    assert len(response.content) == ACHERNAR_FILE.stat().st_size


@pytest.mark.parametrize("path", ["/products/{key}/other-name.fits", "/products/{zero}/x.fits",
                                  "/products/not-a-hash/x.fits", "/previews/{zero}.png"])
async def test_unknown_files_are_404(products_client: httpx.AsyncClient, products_conn: psycopg.Connection[Any],
                                     path: str) -> None:
    url = path.format(key=stored_key(products_conn, ACHERNAR_FILE.name), zero="0" * 64)
    assert (await products_client.get(url)).status_code == 404


@pytest.mark.parametrize("file_name", [MATISSE_FILE.name, AMBER_FILE.name], ids=["embargoed", "private"])
async def test_a_closed_file_asks_an_anonymous_caller_to_log_in_and_refuses_another_user(
        products_client: httpx.AsyncClient, products_conn: psycopg.Connection[Any], people: dict[str, TestAccount],
        file_name: str) -> None:
    for url in (_url(products_conn, file_name), f"/previews/{stored_key(products_conn, file_name)}.png"):
        anonymous = await products_client.get(url)
        assert anonymous.status_code == 401
        assert "Basic" in anonymous.headers["www-authenticate"]
        assert (await products_client.get(url, auth=people["bob"].basic)).status_code == 403


async def test_the_data_pi_gets_the_embargoed_file_and_the_members_the_private_one(
        products_client: httpx.AsyncClient, products_conn: psycopg.Connection[Any],
        people: dict[str, TestAccount]) -> None:
    carol = await products_client.get(_url(products_conn, MATISSE_FILE.name), auth=people["carol"].basic)
    assert (carol.status_code, carol.content) == (200, MATISSE_FILE.read_bytes())
    alice = await products_client.get(_url(products_conn, AMBER_FILE.name), headers=people["alice"].bearer)
    assert (alice.status_code, alice.content) == (200, AMBER_FILE.read_bytes())


async def test_a_file_is_public_once_the_clock_passes_its_release_date(
        released_app: Starlette, products_conn: psycopg.Connection[Any]) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=released_app), base_url="http://t") as http:
        assert (await http.get(_url(products_conn, MATISSE_FILE.name))).status_code == 200
        assert (await http.get(_url(products_conn, AMBER_FILE.name))).status_code == 401  # private stays private


async def test_the_preview_is_a_png_rendered_once_and_kept(
        products_app: Starlette, products_client: httpx.AsyncClient, products_conn: psycopg.Connection[Any]) -> None:
    key = stored_key(products_conn, ACHERNAR_FILE.name)
    first = await products_client.get(f"/previews/{key}.png")
    assert first.status_code == 200
    assert first.headers["content-type"] == "image/png"
    assert first.content.startswith(PNG_SIGNATURE)
    kept = context_of(products_app).products.derived_path(key, PREVIEW_SUFFIX)
    assert kept is not None and kept.read_bytes() == first.content
    again = await products_client.get(f"/previews/{key}.png", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
