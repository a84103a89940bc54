"""The listening socket and uvicorn's limits: TCP_NODELAY (else 40 ms per keep-alive request), head timeout."""

from __future__ import annotations

import asyncio
import gc
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from jmmctap.health import Readiness
from jmmctap.server import DrainingServer, bind_socket, uvicorn_config

HEAD_TIMEOUT_S = 0.5
CLOSE_BOUND_S = 10.0
"""Generous bound for the server to close a connection whose head timed out."""


async def test_accepted_connections_have_tcp_nodelay() -> None:
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("socket")
        accepted.set_result(peer.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(on_connect, sock=sock)
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(accepted, 5) != 0
        writer.close()
    finally:
        server.close()
        await server.wait_closed()


async def _hello(request: Request) -> Response:
    return PlainTextResponse("hello")


@pytest.fixture
async def uvicorn_port() -> AsyncIterator[int]:
    """A real uvicorn with the service's configuration (head timeout shortened) on a loopback port."""
    sock = bind_socket("127.0.0.1", 0)
    config = uvicorn_config(Starlette(routes=[Route("/", _hello)]), header_timeout_s=HEAD_TIMEOUT_S)
    config.log_level = "warning"
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield int(sock.getsockname()[1])
    finally:
        server.should_exit = True
        await task
        sock.close()


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bytes:
    """What the server sent before closing the connection (TimeoutError if it stays open)."""
    return await asyncio.wait_for(reader.read(), seconds)


async def test_a_connection_with_an_incomplete_head_is_closed(uvicorn_port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", uvicorn_port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never the blank line
    assert await _closed_within(reader, CLOSE_BOUND_S) == b""
    writer.close()


async def test_a_silent_connection_is_closed(uvicorn_port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", uvicorn_port)
    assert await _closed_within(reader, CLOSE_BOUND_S) == b""
    writer.close()


async def test_keep_alive_requests_are_answered_and_a_stalled_second_head_is_closed(uvicorn_port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", uvicorn_port)
    for _ in range(3):  # complete heads, slower than the timeout in total: the timer is per head
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200")
        assert await asyncio.wait_for(reader.readexactly(5), 5) == b"hello"
        await asyncio.sleep(HEAD_TIMEOUT_S * 0.6)
    writer.write(b"GET / HTTP/1.1\r\n")
    assert await _closed_within(reader, CLOSE_BOUND_S) == b""
    writer.close()


async def test_what_startup_built_is_frozen_out_of_the_garbage_collector() -> None:
    sock = bind_socket("127.0.0.1", 0)
    config = uvicorn_config(Starlette(routes=[Route("/", _hello)]))
    config.log_level = "warning"
    server = DrainingServer(config, Readiness())
    gc.unfreeze()
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        assert gc.get_freeze_count() > 0  # the next full collections skip them
    finally:
        gc.unfreeze()  # this test process goes on collecting as before
        server.should_exit = True
        await task
        sock.close()
