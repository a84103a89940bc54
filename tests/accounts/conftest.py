"""The application in-process with chosen settings, and a stand-in of JMMC's account service (a real HTTP server)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette

from jmmctap.app import create_app
from jmmctap.settings import Settings

JMMC_PASSWORD = "jmmc-secret"
"""The only password the stand-in account service accepts."""


@contextlib.asynccontextmanager
async def app_client(settings: Settings, client: tuple[str, int] = ("192.0.2.10", 50000),
                     **changes: Any) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    """A fresh application (its own authenticator: memo and throttle start empty) and a client at ``client``."""
    app = create_app(replace(settings, **changes))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield app, http


class AccountServiceStandIn(BaseHTTPRequestHandler):
    """Answers ``action=checkPassword`` like JMMC's manage.php: ``<true/>`` or ``<false/>`` near a message."""

    calls: list[dict[str, list[str]]]

    def do_POST(self) -> None:
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        self.calls.append(form)
        ok = form.get("action") == ["checkPassword"] and form.get("password") == [JMMC_PASSWORD]
        body = (f"<response><message>{'SUCCEEDED' if ok else 'FAILED'}</message>"
                f"{'<true/>' if ok else '<false/>'}</response>").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def account_service() -> Iterator[tuple[str, list[dict[str, list[str]]]]]:
    """A real HTTP server standing in for JMMC's account service: (its URL, the forms it received)."""
    calls: list[dict[str, list[str]]] = []
    handler = type("Handler", (AccountServiceStandIn,), {"calls": calls})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/account/manage.php", calls
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
