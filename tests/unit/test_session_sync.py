"""Panel's write queue strands messages queued while a batch is being sent (``ui/served/session_sync.py``).

The race, step by step, with a fake connection whose writes finish when the test says so: a first message is
queued and its dispatch task sends it; the write completes (the task's wake-up is now scheduled) and, before the
task runs again, a second message is queued with a task of its own. The first task clears the block; Panel's
second task then sees no block and returns: the second message stays queued, never sent.
"""

from __future__ import annotations

import asyncio
from typing import Any

import panel.io.document as document
import pytest
from bokeh.document import Document
from bokeh.document.events import ModelChangedEvent
from bokeh.models import Div
from bokeh.protocol import Protocol

from inventory_panel.ui.served import session_sync


class FakeSocket:
    """Stands for the websocket; each write returns a future the test resolves."""

    def __init__(self) -> None:
        self.writes: list[asyncio.Future[None]] = []
        self.sent: list[str] = []


class FakeConnection:
    def __init__(self) -> None:
        self._socket = FakeSocket()
        self.protocol = Protocol()


def write(conn: FakeConnection, events: Any = None, msg: Any = None) -> list[asyncio.Future[None]]:
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    conn._socket.writes.append(future)
    conn._socket.sent.append(msg.content_json if msg is not None else "")
    return [future]


async def run_race(dispatch: Any) -> list[str]:
    """Queue two changes as in the race above with ``dispatch`` as Panel's ``_dispatch_msgs``; what was sent."""
    doc, div = Document(), Div(text="")
    doc.add_root(div)
    conn = FakeConnection()
    saved = document._dispatch_msgs
    document.extra_socket_handlers[FakeSocket] = write
    document._dispatch_msgs = dispatch
    try:
        document.schedule_write_events(doc, [conn], [ModelChangedEvent(doc, div, "text", "first")])
        for _ in range(5):
            await asyncio.sleep(0)
        assert len(conn._socket.writes) == 1  # the first message is being written
        conn._socket.writes[0].set_result(None)  # ... and done: the first task's wake-up is scheduled
        document.schedule_write_events(doc, [conn], [ModelChangedEvent(doc, div, "text", "second")])
        for _ in range(20):
            await asyncio.sleep(0)
            for future in conn._socket.writes:
                if not future.done():
                    future.set_result(None)
        return conn._socket.sent
    finally:
        document._dispatch_msgs = saved
        document.extra_socket_handlers.pop(FakeSocket, None)
        document._WRITE_MSGS.pop(doc, None)
        document._WRITE_BLOCK.pop(doc, None)


def fixed_dispatch() -> Any:
    panel_dispatch = getattr(document._dispatch_msgs, "__wrapped__", document._dispatch_msgs)
    return session_sync.dispatch_sending_queued(panel_dispatch, document._WRITE_MSGS, document._WRITE_BLOCK)


def test_a_message_queued_while_a_batch_is_sent_is_sent_too() -> None:
    sent = asyncio.run(run_race(fixed_dispatch()))
    assert ['"first"' in text for text in sent] == [True, False]
    assert len(sent) == 2 and '"second"' in sent[1]


def test_panel_still_strands_a_message_queued_while_a_batch_is_sent() -> None:
    """docs/workarounds.md, "a change queued while a batch is sent is never sent": with Panel's own dispatch the
    second message stays queued. When this fails, Panel sends it itself (or queues differently): delete
    ``install_dispatch_fix`` from ``session_sync.py``."""
    if not hasattr(document, "_WRITE_MSGS"):
        pytest.fail("Panel no longer queues in _WRITE_MSGS: check whether the dispatch fix is still needed")
    panel_dispatch = getattr(document._dispatch_msgs, "__wrapped__", document._dispatch_msgs)
    sent = asyncio.run(run_race(panel_dispatch))
    assert len(sent) == 1 and '"first"' in sent[0]


def test_the_fix_is_installed_once() -> None:
    saved = document._dispatch_msgs
    try:
        assert session_sync.install_dispatch_fix()
        once = document._dispatch_msgs
        assert session_sync.install_dispatch_fix()
        assert document._dispatch_msgs is once and once.__wrapped__ is getattr(saved, "__wrapped__", saved)
    finally:
        document._dispatch_msgs = saved
