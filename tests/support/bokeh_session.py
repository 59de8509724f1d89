"""Bokeh session tokens and websocket sessions made by hand, as an attacker (or Bokeh's own client) makes them.

``session_token`` builds a token for a new session id whose payload claims any request headers — unsigned, as
anybody can, or signed with a known secret (a token some other person was issued). ``pull_document`` opens the
app's websocket with a token, as the browser does after loading the page, and returns the document's JSON, or
None when the server refuses the token.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

from bokeh.util.token import generate_jwt_token, generate_session_id
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

TIMEOUT = 60.0


def session_token(headers: dict[str, str], secret: str | None = None) -> str:
    """A token for a new session whose payload carries ``headers``; signed with ``secret`` if one is given."""
    key = secret.encode("utf-8") if secret else None
    session_id = generate_session_id(secret_key=key, signed=key is not None)
    payload = {"headers": dict(headers), "cookies": {}, "arguments": {}}
    return generate_jwt_token(session_id, secret_key=key, signed=key is not None, extra_payload=payload)


def page_token(html: str) -> str:
    """The session token the server put into an app page."""
    return html.split('"token":"', 1)[1].split('"', 1)[0]


async def _pull_document(ws_url: str, token: str, headers: dict[str, str]) -> str | None:
    try:
        socket = await websocket_connect(
            HTTPRequest(ws_url, headers=headers, request_timeout=TIMEOUT), subprotocols=["bokeh", token]
        )
    except HTTPClientError:
        return None
    try:
        for _ in range(3):  # ACK: header, metadata, content; a refused token closes the socket instead
            if await asyncio.wait_for(socket.read_message(), TIMEOUT) is None:
                return None
        for part in ({"msgid": "pull-1", "msgtype": "PULL-DOC-REQ"}, {}, {}):
            await socket.write_message(json.dumps(part))
        parts = [await asyncio.wait_for(socket.read_message(), TIMEOUT) for _ in range(3)]
        return None if None in parts else str(parts[2])
    finally:
        socket.close()


def pull_document(ws_url: str, token: str, headers: dict[str, str]) -> str | None:
    """Open ``ws_url`` with ``token`` and ``headers``; the pulled document's JSON, or None if refused."""
    # In a thread of its own: the caller may be running an event loop (Playwright's sync API, a served app).
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _pull_document(ws_url, token, headers)).result()
