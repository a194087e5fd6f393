"""A real HTTP server on localhost, for tests that need something the app, the emulator or a
browser can call: a webhook endpoint, an inventory source's agent, a page loading Connect.js."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that does not log each request to the test output."""

    def log_message(self, *args: object) -> None:
        pass


def serve_in_background(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    """Serve `handler` on a free localhost port from a daemon thread: the server (stop it with
    `shutdown()`) and its base URL, `http://127.0.0.1:PORT`."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"
