"""The portal runs its searches as the caller: private collections stay out of outsiders' pages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import psycopg
import pytest
from asgi_lifespan import LifespanManager

from jmmctap.accounts.store import remove_user
from jmmctap.app import create_app
from jmmctap.db.connect import conninfos
from jmmctap.settings import Settings
from tests.support.accounts import TestAccount, create_account


@pytest.fixture(scope="module")
def alice(acl_settings: Settings) -> Iterator[TestAccount]:
    with psycopg.connect(conninfos(acl_settings).owner, autocommit=True) as conn:
        account = create_account(conn, "portal_alice", groups=["teamA"])
        yield account
        remove_user(conn, account.name)


@pytest.fixture
async def portal(acl_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(acl_settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def _collections(portal: httpx.AsyncClient, auth: tuple[str, str] | None = None) -> set[str]:
    page = await portal.get("/search/obscore", params={"run": "1", "name": "%"}, auth=auth)
    assert page.status_code == 200 and 'id="results"' in page.text
    return {c for c in ("pionier_public", "team_private", "solo_private") if f">{c}<" in page.text}


async def test_an_anonymous_search_shows_public_products_only(portal: httpx.AsyncClient) -> None:
    assert await _collections(portal) == {"pionier_public"}


async def test_a_member_sees_her_team_collection_but_not_another_pis(portal: httpx.AsyncClient,
                                                                     alice: TestAccount) -> None:
    assert await _collections(portal, alice.basic) == {"pionier_public", "team_private"}


async def test_a_private_target_name_does_not_resolve_for_an_outsider(portal: httpx.AsyncClient) -> None:
    page = await portal.get("/search/obscore", params={"run": "1", "target": "ACHERNAR"})
    assert "unknown target" in page.text  # the Achernar granule is in solo_private
