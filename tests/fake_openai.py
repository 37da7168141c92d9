"""A scripted OpenAI-style server on 127.0.0.1 (http.server in a thread), for the client's tests.

`FakeServer.script` replies are used in order, then `default`; each reply is a function of the
request body returning (status, JSON body or raw bytes, headers, delay seconds). It speaks
HTTP/1.1 with kept-alive connections, like real servers, and records every request with its headers.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

Reply = Callable[[dict], tuple]  # request body -> (status, json body or bytes, headers, delay seconds)


def ok(body: dict) -> tuple:
    """A normal completion answer echoing the prompt, one choice per requested sample."""
    n = body.get("n", 1)
    choices = [{"index": i, "text": f" echo:{body['prompt']}:{i}", "finish_reason": "stop"} for i in range(n)]
    usage = {"prompt_tokens": len(body["prompt"].split()), "completion_tokens": 3 * n}
    return 200, {"choices": choices, "usage": usage}, {}, 0.0


class FakeServer:
    """A scripted OpenAI-style server: `script` replies are used in order, then `default`."""

    def __init__(self, port: int = 0) -> None:
        self.script: list[Reply] = []
        self.default: Reply = ok
        self.requests: list[tuple[str, str, dict]] = []
        self.headers: list[dict[str, str]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

            def _answer(self, body: dict) -> None:
                with fake.lock:
                    fake.requests.append((self.command, self.path, body))
                    fake.headers.append(dict(self.headers.items()))
                    reply = fake.script.pop(0) if fake.script else fake.default
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                try:
                    status, payload, headers, delay = reply(body)
                    if delay:
                        time.sleep(delay)
                finally:
                    with fake.lock:
                        fake.in_flight -= 1
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                self._answer(json.loads(self.rfile.read(length) or b"{}"))

            def do_GET(self) -> None:
                self._answer({})

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def posts(self) -> list[dict]:
        return [body for method, path, body in self.requests if method == "POST"]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


