"""The kernel's document lock (``ui/kernel_sync.py``): Bokeh messages sent on one comm from two threads at once go
whole, one after the other; comm messages and every step of an async callback run under the lock.

The threads are made to meet deterministically: the first sender stops after its first fragment and waits (at most
``MEET_SECONDS``) for the second; without the lock the second sends its whole message in that gap.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import panel.io.notebook as notebook
import pytest

from inventory_panel.ui import kernel_sync

MEET_SECONDS = 0.5


@pytest.fixture
def installed() -> Iterator[None]:
    kernel_sync.install()
    yield
    kernel_sync.uninstall()


class FakeBuffer:
    def __init__(self, ref: str):
        self.ref = {"id": ref}

    def to_bytes(self) -> bytes:
        return b"\x00\x01"


class FakeMessage:
    """What ``panel.io.notebook.send`` reads of a Bokeh message: three JSON parts and the buffers."""

    def __init__(self, name: str):
        self.header_json = json.dumps({"msgid": name})
        self.metadata_json = "{}"
        self.content_json = json.dumps({"events": [name]})
        self.buffers = [FakeBuffer(name)]


class MeetingComm:
    """Records who sent each fragment; the thread called ``first`` pauses after its first fragment."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.first_started = threading.Event()
        self.second_tried = threading.Event()

    def send(self, data: Any = None, metadata: Any = None, buffers: Any = None) -> None:
        name = threading.current_thread().name
        self.sent.append(name)
        if name == "first" and self.sent.count("first") == 1:
            self.first_started.set()
            self.second_tried.wait(MEET_SECONDS)


def send_at_once(send: Any) -> list[str]:
    """Two threads send one message each on one comm, the second while the first is half-way; who sent what."""
    comm = MeetingComm()
    first = threading.Thread(target=send, args=(comm, FakeMessage("a")), name="first")
    second = threading.Thread(target=send, args=(comm, FakeMessage("b")), name="second")
    first.start()
    assert comm.first_started.wait(5)
    second.start()
    second.join(MEET_SECONDS / 2)  # unsynchronised, it is done by now; behind a lock it waits for the first
    comm.second_tried.set()
    first.join(5)
    second.join(5)
    return comm.sent


def runs(names: list[str]) -> list[str]:
    """The senders in the order their uninterrupted runs of fragments came."""
    return [name for name, _group in itertools.groupby(names)]


def test_panel_still_interleaves_messages_sent_at_once():
    """Tells when kernel_sync can go: Panel's own ``send`` splits a message around another thread's one. When this
    fails (Panel serialises its sends), check the notebook acceptance test without ``kernel_sync`` and remove it."""
    sent = send_at_once(kernel_sync.unpatched_send())
    assert runs(sent) == ["first", "second", "first"]
    assert sent.count("first") == sent.count("second") == 5  # header, metadata, content, buffer header, buffer


def test_messages_sent_at_once_on_one_comm_go_whole_under_the_kernel_lock(installed):
    sent = send_at_once(notebook.send)
    assert runs(sent) == ["first", "second"]
    assert sent.count("first") == sent.count("second") == 5


def held_elsewhere() -> bool:
    """True when another thread holds ``kernel_sync.LOCK`` (this thread tries to take it, without waiting)."""
    result: list[bool] = []

    def probe() -> None:
        taken = kernel_sync.LOCK.acquire(blocking=False)
        if taken:
            kernel_sync.LOCK.release()
        result.append(not taken)

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join(5)
    return result[0]


def test_a_comm_message_is_handled_under_the_kernel_lock(installed):
    import pyviz_comms

    seen: list[bool] = []

    class Recording(pyviz_comms.Comm):
        def send(self, data: Any = None, metadata: Any = None, buffers: Any = None) -> None:
            seen.append(held_elsewhere())  # the reply ("Ready") is sent under the lock too

    comm = Recording(on_msg=lambda _msg: seen.append(held_elsewhere()))
    comm._handle_msg({"content": "x"})
    assert seen == [True, True]
    assert not held_elsewhere()


def test_each_step_of_an_async_callback_runs_under_the_lock_and_none_of_its_waits(installed):
    import param

    steps: list[tuple[str, bool]] = []
    done = threading.Event()

    def probe_later() -> bool:  # the worker starts while the step is still running: probe once it is suspended
        time.sleep(0.2)
        return held_elsewhere()

    async def callback() -> None:
        steps.append(("before the worker", held_elsewhere()))
        in_worker = await asyncio.to_thread(probe_later)  # what a worker thread sees while the callback waits
        steps.append(("worker", in_worker))
        steps.append(("after the worker", held_elsewhere()))
        done.set()

    async def main() -> None:
        param.parameterized.async_executor(callback)  # what Panel does with an async callback in a notebook
        while not done.is_set():
            await asyncio.sleep(0.01)

    asyncio.run(main())
    # Inside a step the probe thread finds the lock taken; a worker thread (the step is suspended) takes it itself.
    assert steps == [("before the worker", True), ("worker", False), ("after the worker", True)]


def test_an_error_or_a_cancellation_reaches_the_coroutine_through_the_lock():
    cleaned: list[str] = []

    async def failing() -> None:
        await asyncio.sleep(0)
        raise ValueError("refused")

    async def waiting() -> None:
        try:
            await asyncio.sleep(10)
        finally:
            cleaned.append("cancelled")

    async def main() -> None:
        with pytest.raises(ValueError, match="refused"):
            await kernel_sync.locked(failing)()
        task = asyncio.ensure_future(kernel_sync.locked(waiting)())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert cleaned == ["cancelled"]
    assert not held_elsewhere()


class RecordingComm:
    """A notebook comm that is open and records every fragment sent on it."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self._comm = True  # open: Panel sends at once instead of retrying later

    def send(self, data: Any = None, metadata: Any = None, buffers: Any = None) -> None:
        self.sent.append(data if data is not None else buffers)


def test_a_batched_reload_goes_as_one_message_per_cell(installed):
    import panel as pn
    from bokeh.document import Document
    from panel.io.model import add_to_doc

    cells = []
    for text in ("a", "b"):
        pane, doc, comm = pn.pane.Markdown(text), Document(), RecordingComm()
        add_to_doc(pane.get_root(doc, comm), doc, hold=True)  # as a notebook cell's output is rendered
        cells.append((pane, comm))
    quiet, quiet_comm = cells[1][0], cells[1][1]
    pane, comm = cells[0]

    pane.object = "one"
    pane.object = "two"
    assert len(comm.sent) == 6  # unbatched: two messages of three fragments
    comm.sent.clear()
    with kernel_sync.batched():
        pane.object = "three"
        pane.styles = {"color": "red"}
        assert comm.sent == [] and held_elsewhere()
    assert len(comm.sent) == 3 and "three" in comm.sent[2] and "color" in comm.sent[2]  # one message, both changes
    assert quiet_comm.sent == [] and quiet.object == "b"  # a cell with nothing to say sends nothing
