"""A forwarding HTTP proxy that adds an ``Authorization`` header: how STILTS taplint is run with credentials.

The taplint shipped with Debian's STILTS 3.4.7 has no authentication option, so it talks to this proxy
and the proxy forwards each request, credentials added, to the real server, streaming the answer back
untouched. The server is started with ``JMMCTAP_PUBLIC_URL`` set to the proxy, so that every URL it
hands out (capabilities, job and result locations) leads taplint back through the proxy.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["credentials_proxy"]

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host",
               "proxy-authorization", "proxy-connection", "content-length", "authorization"}


class _Forward(BaseHTTPRequestHandler):
    upstream: tuple[str, int]
    authorization: str

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while (size := int(self.rfile.readline().split(b";")[0].strip(), 16)) > 0:
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailer fields, then the empty line
                pass
            return b"".join(parts)
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def _forward(self) -> None:
        body = self._body()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        headers["Authorization"] = self.authorization
        if body or self.command in ("POST", "PUT"):
            headers["Content-Length"] = str(len(body))
        upstream = http.client.HTTPConnection(*self.upstream, timeout=600)
        try:
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            response = upstream.getresponse()
            self.send_response(response.status, response.reason)
            for name, value in response.getheaders():
                if name.lower() not in _HOP_BY_HOP - {"content-length"}:
                    self.send_header(name, value)
            self.end_headers()  # HTTP/1.0: the connection closes after the body, so no length is needed
            if self.command != "HEAD":
                while chunk := response.read(65536):
                    self.wfile.write(chunk)
        finally:
            upstream.close()

    do_GET = do_POST = do_DELETE = do_PUT = do_HEAD = _forward

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def credentials_proxy(upstream_port: int, authorization: str) -> Iterator[int]:
    """Run the proxy on a free port of 127.0.0.1 (yielded) until the block ends."""
    handler = type("Forward", (_Forward,), {"upstream": ("127.0.0.1", upstream_port), "authorization": authorization})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
