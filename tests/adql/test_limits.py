"""Translation budgets (issue 13): size limits answer 400 naming their setting; translation runs off the loop."""

from __future__ import annotations

import select
import socket
from urllib.parse import urlencode, urlsplit

import anyio
import httpx
import pytest

from jmmctap.adql import Limits, translate, translate_in_thread
from jmmctap.errors import AdqlError
from jmmctap.settings import Settings
from jmmctap.tapschema import TapSchema

DEFAULT = Limits()
UNHURRIED = Limits(time_s=600)
"""The default size limits with time to spare on a loaded machine (no test depends on the machine's speed)."""


def _sum(terms: int, last: str = "1") -> str:
    """``SELECT 1+1+...+last FROM TAP_SCHEMA.tables`` with ``terms`` terms in all (the table name has two)."""
    return "SELECT " + "+".join(["1"] * (terms - 3) + [last]) + " FROM TAP_SCHEMA.tables"


def test_the_settings_defaults_are_the_engine_defaults() -> None:
    settings = Settings()
    assert (settings.adql_max_length, settings.adql_max_terms, settings.adql_max_depth,
            settings.adql_time_budget_s) == (DEFAULT.max_length, DEFAULT.max_terms, DEFAULT.max_depth, DEFAULT.time_s)


def test_fifty_thousand_terms_are_refused_naming_the_limit(adql_tap_schema: TapSchema) -> None:
    query = _sum(50_000)
    assert len(query) < DEFAULT.max_length  # the terms limit, not the length limit, is what refuses it
    with pytest.raises(AdqlError) as info:
        translate(query, adql_tap_schema)
    assert "JMMCTAP_ADQL_MAX_TERMS" in info.value.message and str(DEFAULT.max_terms) in info.value.message


def test_a_query_just_under_the_terms_limit_translates(adql_tap_schema: TapSchema) -> None:
    translation = translate(_sum(DEFAULT.max_terms), adql_tap_schema, limits=UNHURRIED)
    assert translation.sql.count("+") == DEFAULT.max_terms - 3


@pytest.mark.parametrize(("query", "setting"), [
    ("SELECT 1 FROM TAP_SCHEMA.tables --" + "x" * DEFAULT.max_length, "JMMCTAP_ADQL_MAX_LENGTH"),
    ("SELECT " + "(" * (DEFAULT.max_depth + 1) + "1" + ")" * (DEFAULT.max_depth + 1) + " FROM TAP_SCHEMA.tables",
     "JMMCTAP_ADQL_MAX_DEPTH"),
    ("SELECT " + "- " * (DEFAULT.max_depth + 1) + "1 FROM TAP_SCHEMA.tables", "JMMCTAP_ADQL_MAX_DEPTH"),
    ("SELECT 1 FROM TAP_SCHEMA.tables WHERE " + "NOT " * (DEFAULT.max_depth + 1) + "1 = 1", "JMMCTAP_ADQL_MAX_DEPTH"),
])
def test_size_limits_are_named(query: str, setting: str, adql_tap_schema: TapSchema) -> None:
    with pytest.raises(AdqlError) as info:
        translate(query, adql_tap_schema)
    assert setting in info.value.message


def test_a_spent_time_budget_is_named(adql_tap_schema: TapSchema) -> None:
    with pytest.raises(AdqlError) as info:
        translate("SELECT 1 FROM TAP_SCHEMA.tables", adql_tap_schema, limits=Limits(time_s=-1))
    assert "JMMCTAP_ADQL_TIME_BUDGET_S" in info.value.message


def test_custom_limits_are_honoured(adql_tap_schema: TapSchema) -> None:
    with pytest.raises(AdqlError, match="limit of 3 names"):
        translate("SELECT a, b, c FROM TAP_SCHEMA.tables", adql_tap_schema, limits=Limits(max_terms=3))


async def test_the_event_loop_runs_while_a_large_query_translates(adql_tap_schema: TapSchema) -> None:
    ticks = 0
    done = anyio.Event()

    async def tick() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await anyio.sleep(0)

    async with anyio.create_task_group() as group:
        group.start_soon(tick)
        translation = await translate_in_thread(_sum(DEFAULT.max_terms), adql_tap_schema, UNHURRIED)
        done.set()
    assert translation.sql.startswith("SELECT")
    assert ticks > 10  # a blocking translation would have let the ticker run once at most


def _raw_post(url: str, query: str) -> socket.socket:
    """Send a sync TAP request on a raw socket and return it unread."""
    parts = urlsplit(url)
    body = urlencode({"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query}).encode()
    head = (f"POST {parts.path}/sync HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    sock = socket.create_connection((parts.hostname, parts.port), timeout=120)
    sock.sendall(head + body)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    sock.close()
    return b"".join(chunks)


def test_a_fifty_thousand_term_query_is_a_400_over_http(live_server: str) -> None:
    response = httpx.post(f"{live_server}/sync", data={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": _sum(50_000)},
                          timeout=120)
    assert response.status_code == 400
    assert "JMMCTAP_ADQL_MAX_TERMS" in response.text


def test_availability_answers_while_a_large_query_translates(live_server: str) -> None:
    # just under the limits and failing only at its last term: the server answers it right after translating
    big = _raw_post(live_server, _sum(DEFAULT.max_terms, last="no_such_column"))
    try:
        availability = httpx.get(f"{live_server}/availability", timeout=120)
        assert availability.status_code == 200
        readable, _, _ = select.select([big], [], [], 0)
        assert not readable, "the large query was answered before /availability: translation blocked the loop"
    finally:
        answer = _read_all(big)
    # on a very loaded machine the time budget may refuse it first: a 400 all the same
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"no_such_column" in answer or b"JMMCTAP_ADQL_TIME_BUDGET_S" in answer
