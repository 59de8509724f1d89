"""A throw-away HTTP server on a free local port, served from a daemon thread (the fakes of Databricks' services)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def start_local_server(handler: type[BaseHTTPRequestHandler], name: str) -> ThreadingHTTPServer:
    """``handler`` served on 127.0.0.1 (port chosen by the system) until :func:`stop_local_server`."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    # A short poll interval so that shutdown() returns at once when a test ends.
    threading.Thread(target=server.serve_forever, args=(0.05,), name=name, daemon=True).start()
    return server


def stop_local_server(server: ThreadingHTTPServer | None) -> None:
    """Stop serving and free the port (nothing to do for a server never started)."""
    if server is not None:
        server.shutdown()
        server.server_close()
