"""Running the rating app on a local port: in the foreground (the CLI) or in a background thread."""
from __future__ import annotations

import ipaddress
import threading
from typing import Any, Optional

LOOPBACK_NOTE = ("note: {host} is not a loopback address: anyone who can reach this machine can open the "
                 "rating page and add ratings")


LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost'."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RatingServer:
    """A threaded HTTP server for a WSGI app, bound at construction (port 0 picks a free port).

    `start()` serves in a background thread (tests, notebooks); `serve_forever()` blocks (the CLI).
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            def log_request(self, code: Any = "-", size: Any = "-") -> None:
                if isinstance(code, int) and code >= 400 or str(code).startswith(("4", "5")):
                    super().log_request(code, size)  # only failures: not a line per response shown

        self._server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
        self.host = host
        self.port: int = self._server.server_port
        self._thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:8000"""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> "RatingServer":
        """Serve in a daemon thread; returns self."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="rating-server", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread; returns when interrupted (Ctrl-C)."""
        self._server.serve_forever()

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> "RatingServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
