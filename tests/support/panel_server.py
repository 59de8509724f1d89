"""Serve a Panel app in this process on a free local port, for tests that speak HTTP/websocket to a real server."""

from __future__ import annotations

from typing import Any

import panel as pn

from tests.support.postgres import free_port


def serve_locally(app: Any, **options: Any) -> tuple[Any, str]:
    """``(server, url)``: ``app`` served threaded on 127.0.0.1; ``options`` go to ``pn.serve`` (signing, auth)."""
    port = free_port()
    server = pn.serve(
        app,
        port=port,
        address="127.0.0.1",
        show=False,
        threaded=True,
        verbose=False,
        websocket_origin=[f"127.0.0.1:{port}"],
        **options,
    )
    return server, f"http://127.0.0.1:{port}/"
