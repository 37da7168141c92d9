"""An HTTP proxy on 127.0.0.1 that misbehaves on purpose, in front of a real server.

Each request gets an action: from `plan` (consumed in order) while it lasts, else from `policy`
(a function of the request number and body) if set, else `mode`. Actions:

- "pass": forward to the upstream and relay its answer;
- "drop": close the connection without answering;
- "error": answer HTTP 503 without forwarding;
- "hang": answer nothing for `hang_seconds` (past the client's timeout), then close;
- "truncate": forward, relay the status and headers, then cut the body in half and close.

It records what it did (`actions`), the bodies it relayed a successful upstream answer for
(`answered`, recorded just before relaying), and the most requests it held at once (`max_in_flight`).
"""
from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler
from typing import Callable, Optional

from local_http import LocalServer, send_json, send_json_head

ACTIONS = ("pass", "drop", "error", "hang", "truncate")


class FaultProxy:
    def __init__(self, upstream: str, mode: str = "pass", hang_seconds: float = 5.0) -> None:
        self.upstream = urllib.parse.urlsplit(upstream)
        self.mode = mode
        self.plan: list[str] = []
        self.policy: Optional[Callable[[int, dict], str]] = None
        self.hang_seconds = hang_seconds
        self.actions: list[str] = []
        self.answered: list[dict] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self.closing = threading.Event()
        self.http = LocalServer(self._handle)
        self.url = f"http://127.0.0.1:{self.http.port}{self.upstream.path}"

    def count(self, action: str) -> int:
        with self.lock:
            return self.actions.count(action)

    def close(self) -> None:
        self.closing.set()
        self.http.close()

    def _choose(self, body: dict) -> str:
        with self.lock:
            number = len(self.actions)
            if self.plan:
                action = self.plan.pop(0)
            elif self.policy is not None:
                action = self.policy(number, body)
            else:
                action = self.mode
            assert action in ACTIONS, action
            self.actions.append(action)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return action

    def _handle(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        body = json.loads(raw) if raw else {}
        action = self._choose(body)
        try:
            if action == "drop":
                handler.close_connection = True
                return
            if action == "hang":
                self.closing.wait(self.hang_seconds)
                handler.close_connection = True
                return
            if action == "error":
                send_json(handler, 503, b'{"message": "injected failure"}')
                return
            status, payload, headers = self._forward(handler, raw)
            if action == "truncate":
                send_json_head(handler, status, len(payload))
                handler.wfile.write(payload[: len(payload) // 2])
                handler.close_connection = True
                return
            if status == 200:  # recorded before the client can see the answer
                with self.lock:
                    self.answered.append(body)
            send_json(handler, status, payload, headers)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True  # the client gave up first
        finally:
            with self.lock:
                self.in_flight -= 1

    def _forward(self, handler: BaseHTTPRequestHandler, raw: bytes) -> tuple[int, bytes, dict[str, str]]:
        connection = http.client.HTTPConnection(self.upstream.hostname or "", self.upstream.port, timeout=600)
        try:
            headers = {key: value for key, value in handler.headers.items() if key.lower() in ("content-type", "authorization")}
            connection.request(handler.command, handler.path, body=raw or None, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            kept = {key: value for key, value in response.getheaders() if key.lower() == "retry-after"}
            return response.status, payload, kept
        finally:
            connection.close()
