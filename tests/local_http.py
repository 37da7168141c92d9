"""A real HTTP/1.1 server on 127.0.0.1 in a daemon thread, under the tests' scripted servers
(fake_openai.FakeServer, fault_proxy.FaultProxy), which say what to do with each request."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Mapping, Optional

Respond = Callable[[BaseHTTPRequestHandler, bytes], None]  # (the request's handler, its body) -> answer on it


class LocalServer:
    """Calls `respond(handler, body)` for every GET (empty body) and POST, on kept-alive connections
    like real servers; `port` 0 picks a free one."""

    def __init__(self, respond: Respond, port: int = 0) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

            def do_GET(self) -> None:
                respond(self, b"")

            def do_POST(self) -> None:
                respond(self, self.rfile.read(int(self.headers.get("Content-Length", 0))))

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port: int = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def send_json_head(handler: BaseHTTPRequestHandler, status: int, length: int,
                   headers: Optional[Mapping[str, str]] = None) -> None:
    """The status line and headers of a JSON answer of `length` bytes."""
    handler.send_response(status)
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(length))
    handler.end_headers()


def send_json(handler: BaseHTTPRequestHandler, status: int, payload: bytes,
              headers: Optional[Mapping[str, str]] = None) -> None:
    """A whole JSON answer."""
    send_json_head(handler, status, len(payload), headers)
    handler.wfile.write(payload)
