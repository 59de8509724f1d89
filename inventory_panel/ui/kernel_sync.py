"""One document lock for a Jupyter kernel: updates of the displayed components never interleave on a comm.

A Bokeh server runs every change of a session's document under that document's lock, on one event loop. A kernel
has no such lock, and since JupyterLab 4.4 no single thread either: the frontend sends each comm target's messages
to a kernel subshell of its own (``commsOverSubshells``, default ``perCommTarget``), and ipykernel 7 handles each
subshell's messages on its own thread and event loop. Every displayed cell is a comm target, so with components
sharing one model (``InventoryModel.for_inventory``) an import clicked in one cell re-renders the other cells from
that cell's thread, while the live-update reload (``live.subscribe_kernel``) re-renders them from the kernel's main
thread. Panel 1.9.4 sends one Bokeh message as several comm messages (header, metadata, content, then a text header
and a binary payload per buffer: ``panel.io.notebook.send``); two threads sending on one comm interleave them and the
browser fails with "Expected binary fragment but received text fragment", after which that cell stops updating.
Two threads changing one document at once also race on its held events (``panel.io.model.diff``).

``install()`` makes ``LOCK`` (re-entrant, process-wide) the kernel's document lock. It is held
- while a comm message is handled (``pyviz_comms.Comm._handle_msg``: the widget change, every callback it runs and
  the pushes they make, and the reply);
- for each step of an ``async`` callback Panel or param schedule (``param.parameterized.async_executor``), between
  its awaits (an import's worker thread runs unlocked; what the callback does with the result is locked);
- while a Bokeh message is sent (``panel.io.notebook.send``), whoever sends it;
- by ``live.subscribe_kernel`` around each reload (``batched``).
So all pushes of a document come one whole message after the other, in the order the changes were made.

``batched()`` also holds Panel's pushes back for the length of a reload (Panel's ``block_comm``) and then sends one
message per displayed document (``push`` of each of ``state._views``' notebook roots): a reload changes a dozen
properties in three or four cells, each of which Panel would otherwise send, and the browser lay out, on its own.
Registered in docs/workarounds.md;
``tests/unit/test_kernel_sync.py::test_panel_still_interleaves_messages_sent_at_once`` tells when it can go.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterator
from typing import Any

log = logging.getLogger(__name__)

LOCK = threading.RLock()

_installed = False
_originals: dict[str, Any] = {}


class _Stepped(Awaitable[Any]):
    """Awaits ``coro``, running each of its steps (up to its next suspension) under ``LOCK``."""

    def __init__(self, coro: Coroutine[Any, Any, Any]):
        self._coro = coro

    def __await__(self) -> Generator[Any, Any, Any]:
        coro = self._coro
        value: Any = None
        error: BaseException | None = None
        while True:
            with LOCK:
                try:
                    suspended = coro.send(value) if error is None else coro.throw(error)
                except StopIteration as stop:
                    return stop.value
            try:
                value, error = (yield suspended), None
            except BaseException as exc:  # noqa: BLE001 - cancellation or closing: handed to the coroutine
                value, error = None, exc


def locked(func: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Coroutine[Any, Any, Any]]:
    """``func`` (a coroutine function) with each step of its coroutine run under ``LOCK``."""

    @functools.wraps(func)
    async def run(*args: Any, **kwargs: Any) -> Any:
        return await _Stepped(func(*args, **kwargs))

    return run


@contextlib.contextmanager
def batched() -> Iterator[None]:
    """Under ``LOCK``: Panel's comm pushes held back while the body runs, then one message per displayed document."""
    from panel.io.notebook import block_comm, push
    from panel.io.state import state

    with LOCK:
        try:
            with block_comm():
                yield
        finally:
            documents: dict[int, tuple[Any, Any]] = {}
            for _viewable, root, doc, comm in list(state._views.values()):
                if comm is not None and "embedded" not in root.tags:  # what Panel's own pushes skip
                    documents[id(doc)] = (doc, comm)
            for doc, comm in documents.values():  # a document with nothing held sends nothing
                try:
                    push(doc, comm)
                except Exception:  # one closed cell must not keep the others stale
                    log.exception("live updates: sending a cell's changes failed")


def install() -> None:
    """Patch Panel, pyviz_comms and param once per process (idempotent); only a kernel calls this."""
    global _installed
    with LOCK:
        if _installed:
            return
        import panel.io.notebook as notebook
        import param
        import pyviz_comms  # type: ignore[import-untyped]
        from panel.io.state import state

        handle_msg = _originals["handle_msg"] = pyviz_comms.Comm._handle_msg
        send = _originals["send"] = notebook.send
        execute = _originals["async_executor"] = param.parameterized.async_executor

        @functools.wraps(handle_msg)
        def _handle_msg(self: Any, msg: Any) -> Any:
            with LOCK:
                return handle_msg(self, msg)

        @functools.wraps(send)
        def _send(comm: Any, msg: Any) -> None:
            with LOCK:
                send(comm, msg)

        @functools.wraps(execute)
        def _async_executor(func: Callable[..., Any]) -> Any:
            doc = state.curdoc
            if doc is not None and doc.session_context is not None:  # a served session: Bokeh's lock applies
                return execute(func)
            return execute(locked(func))

        pyviz_comms.Comm._handle_msg = _handle_msg
        notebook.send = _send
        param.parameterized.async_executor = _async_executor
        _installed = True


def uninstall() -> None:
    """Put Panel, pyviz_comms and param back as they were (tests: the patches are process-wide)."""
    global _installed
    with LOCK:
        if not _installed:
            return
        import panel.io.notebook as notebook
        import param
        import pyviz_comms

        pyviz_comms.Comm._handle_msg = _originals.pop("handle_msg")
        notebook.send = _originals.pop("send")
        param.parameterized.async_executor = _originals.pop("async_executor")
        _installed = False


def unpatched_send() -> Callable[[Any, Any], None]:
    """Panel's own ``send`` (for the test that tells when this module can go)."""
    import panel.io.notebook as notebook

    return _originals.get("send", notebook.send)
