"""The body limit of table uploads holds while the bytes arrive: announced or not, nothing is loaded past it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace

import httpx
import pytest
from asgi_lifespan import LifespanManager

from jmmctap.app import create_app
from jmmctap.settings import Settings
from tests.support.accounts import TestAccount

LIMIT_BYTES = 4096


@pytest.fixture
async def small_limit_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The application in-process with uploads limited to ``LIMIT_BYTES``."""
    app = create_app(replace(settings, table_upload_max_bytes=LIMIT_BYTES))
    async with LifespanManager(app) as manager, httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app),
                                 base_url="http://testserver") as http:
        yield http


def _body(size: int) -> Iterator[bytes]:
    yield b"<VOTABLE>" + b" " * (size - 9)


@pytest.mark.parametrize("announced", [True, False], ids=["content-length", "chunked"])
async def test_a_table_over_the_limit_is_refused_with_413(
        small_limit_client: httpx.AsyncClient, make_account: Callable[..., TestAccount], announced: bool) -> None:
    account = make_account()
    headers = {"Content-Length": str(LIMIT_BYTES + 1)} if announced else {}

    async def chunks() -> AsyncIterator[bytes]:
        for chunk in _body(LIMIT_BYTES + 1):
            yield chunk

    response = await small_limit_client.put("/tables/user_x.t", content=chunks(), headers=headers,
                                             auth=account.basic)
    assert response.status_code == 413
    assert f"larger than the limit of {LIMIT_BYTES} bytes" in response.text


async def test_an_empty_body_is_no_table(
        small_limit_client: httpx.AsyncClient, make_account: Callable[..., TestAccount]) -> None:
    response = await small_limit_client.put("/tables/user_x.t", content=b"", auth=make_account().basic)
    assert response.status_code == 400
    assert "holds no table" in response.text


async def test_a_form_must_hold_exactly_one_file(
        small_limit_client: httpx.AsyncClient, make_account: Callable[..., TestAccount]) -> None:
    account = make_account()
    two = await small_limit_client.put("/tables/user_x.t", auth=account.basic,
                                       files=[("a", ("a.vot", b"<VOTABLE/>")), ("b", ("b.vot", b"<VOTABLE/>"))])
    none = await small_limit_client.put("/tables/user_x.t", auth=account.basic, files={"mode": (None, "create")})
    assert (two.status_code, none.status_code) == (400, 400)
    assert "one file part" in two.text and "one file part" in none.text
