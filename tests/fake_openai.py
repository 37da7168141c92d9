"""A scripted OpenAI-style server on 127.0.0.1 (http.server in a thread), for the client's tests.

`FakeServer.script` replies are used in order, then `default`; each reply is a function of the
request body returning (status, JSON body or raw bytes, headers, delay seconds). It speaks
HTTP/1.1 with kept-alive connections, like real servers, and records every request with its headers.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Callable

from local_http import LocalServer, send_json

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
        self.http = LocalServer(self._answer, port)
        self.port = self.http.port
        self.url = f"http://127.0.0.1:{self.port}/v1"

    def _answer(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        body = json.loads(raw or b"{}")
        with self.lock:
            self.requests.append((handler.command, handler.path, body))
            self.headers.append(dict(handler.headers.items()))
            reply = self.script.pop(0) if self.script else self.default
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            status, payload, headers, delay = reply(body)
            if delay:
                time.sleep(delay)
        finally:
            with self.lock:
                self.in_flight -= 1
        try:
            send_json(handler, status, payload if isinstance(payload, bytes) else json.dumps(payload).encode(), headers)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)

    def posts(self) -> list[dict]:
        return [body for method, path, body in self.requests if method == "POST"]

    def close(self) -> None:
        self.http.close()


