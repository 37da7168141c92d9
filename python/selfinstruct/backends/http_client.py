"""One JSON exchange with an HTTP server over kept-alive connections (standard library only).

Each thread keeps one connection per server (`threading.local`), so a stream's workers do not pay
a TCP handshake per request. Failures come back classified: `RetryableHTTPError` for what another
try may fix (timeouts, dropped connections, HTTP 5xx, 408, 429), `BackendError` for what it cannot
(other 4xx, a body that is not JSON).
"""
from __future__ import annotations

import http.client
import json
import socket
import threading
import urllib.parse
from typing import Any

from .base import BackendError

RETRYABLE_STATUS = {408, 429}


class RetryableHTTPError(Exception):
    """A failed exchange worth trying again (here or on another server)."""

    def __init__(self, problem: str, retry_after: float | None = None, connection_lost: bool = False) -> None:
        super().__init__(problem)
        self.problem = problem
        self.retry_after = retry_after
        self.connection_lost = connection_lost


class Cancelled(Exception):
    """The exchange was interrupted because its stream was closed."""


class HTTPJSONClient:
    """Sends JSON requests to any of several base URLs; thread-safe (connections are per thread).

    `abort_all()` shuts down every connection in use, which wakes threads blocked on a read (how a
    closed stream stops its requests in flight); the client is then done. One client per stream.
    """

    def __init__(self, timeout: float, api_key: str | None = None) -> None:
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        self._local = threading.local()
        self._active: set[http.client.HTTPConnection] = set()
        self._lock = threading.Lock()
        self._aborted = False

    def request(self, base_url: str, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        """The decoded JSON object answered to `method base_url+path`; raises RetryableHTTPError,
        BackendError, or Cancelled after `abort_all`."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        reused = base_url in self._connections()
        try:
            return self._exchange(base_url, method, path, data)
        except RetryableHTTPError as error:
            # A kept-alive connection the server closed while idle fails before any answer: one
            # fresh connection settles whether the server itself is at fault.
            if not (reused and error.connection_lost):
                raise
        return self._exchange(base_url, method, path, data)

    def _exchange(self, base_url: str, method: str, path: str, data: bytes | None) -> dict[str, Any]:
        connection = self._connection(base_url)
        full_path = urllib.parse.urlsplit(base_url).path + path
        with self._lock:
            self._active.add(connection)
        try:
            connection.request(method, full_path, body=data, headers=self.headers)
            response = connection.getresponse()
            payload = response.read()
            status, headers = response.status, response.headers
            if response.will_close:
                self._drop(base_url)
        except (socket.timeout, TimeoutError):
            self._drop(base_url)
            raise RetryableHTTPError(f"no answer within {self.timeout} s (raise the timeout for long generations)") from None
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as error:
            self._drop(base_url)
            raise self._cancelled_or(RetryableHTTPError(f"connection lost before the answer ({type(error).__name__})",
                                                         connection_lost=True))
        except (http.client.HTTPException, OSError) as error:
            self._drop(base_url)
            raise self._cancelled_or(RetryableHTTPError(f"cannot connect or read: {error or type(error).__name__}"))
        finally:
            with self._lock:
                self._active.discard(connection)
        url = base_url + path
        if status >= 400:
            message = error_message(payload) or response.reason
            if status < 500 and status not in RETRYABLE_STATUS:
                raise BackendError(
                    f"{method} {url} was rejected with HTTP {status}: {message} "
                    "(a client error: check the model name, the parameters and the API key)"
                )
            raise RetryableHTTPError(f"HTTP {status}: {message}", retry_after_seconds(headers.get("Retry-After")))
        try:
            decoded = json.loads(payload)
        except ValueError:
            raise BackendError(f"{method} {url} returned a body that is not JSON: {payload[:200]!r}") from None
        if not isinstance(decoded, dict):
            raise BackendError(f"{method} {url} returned JSON that is not an object: {payload[:200]!r}")
        return decoded

    def abort_all(self) -> None:
        """Interrupt every exchange in progress (their threads see `Cancelled`)."""
        with self._lock:
            self._aborted = True
            active = list(self._active)
        for connection in active:
            try:
                if connection.sock is not None:
                    connection.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _cancelled_or(self, error: Exception) -> Exception:
        return Cancelled() if self._aborted else error

    def _connections(self) -> dict[str, http.client.HTTPConnection]:
        if not hasattr(self._local, "connections"):
            self._local.connections = {}
        return self._local.connections

    def _connection(self, base_url: str) -> http.client.HTTPConnection:
        connections = self._connections()
        if base_url not in connections:
            parts = urllib.parse.urlsplit(base_url)
            kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
            connections[base_url] = kind(parts.hostname or "", parts.port, timeout=self.timeout)
        return connections[base_url]

    def _drop(self, base_url: str) -> None:
        connection = self._connections().pop(base_url, None)
        if connection is not None:
            connection.close()

    def close_thread_connections(self) -> None:
        """Close this thread's connections (a worker thread calls it when it ends)."""
        for base_url in list(self._connections()):
            self._drop(base_url)


def error_message(payload: bytes) -> str:
    """The server's error text: OpenAI's {"error": {"message"}} or vLLM's {"message"}, else the raw body."""
    raw = payload.decode("utf-8", errors="replace")
    try:
        decoded = json.loads(raw)
    except ValueError:
        return raw.strip()[:500]
    if isinstance(decoded, dict):
        inner = decoded.get("error", decoded)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:500]
        if isinstance(inner, str):
            return inner[:500]
    return raw.strip()[:500]


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After in seconds (the delta form; an HTTP date is ignored)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
