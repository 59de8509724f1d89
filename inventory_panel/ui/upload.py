"""``BoundedFileDropper``: Panel's file dropper with the upload limit enforced on the server, chunk by chunk.

Panel 1.9.4's ``FileDropper._process_event`` appends every chunk the browser sends to ``_file_buffer`` without a
limit (``max_file_size`` is checked only in the browser), joins the chunks when the last one arrives, decodes a
text file into a ``str`` as well, and keeps every file ever uploaded in ``value``. Anyone who sends ``upload_event``
messages over the websocket by hand can make the server hold any amount, and an upload that never finishes stays
buffered as long as the session. This subclass (registered in docs/workarounds.md):

- refuses an upload as soon as its declared size (the number of chunks) or the bytes received pass ``max_bytes``,
  and drops what it had buffered;
- holds one upload at a time: a new file replaces an unfinished one and the previous file;
- keeps the file as bytes (the importer reads bytes; a decoded copy would double the memory);
- ``release()`` drops everything, for when the session ends.

One level lower, Bokeh 3.9.2's ``Receiver`` collects as many binary buffers for one websocket message as the
message's header announces (``num_buffers``), each up to the websocket message limit, before anything sees the
message; ``bound_message_buffers`` caps the buffers of one message at ``MAX_MESSAGE_BUFFER_BYTES`` (an upload chunk
plus a margin), and an over-long message closes the connection as any malformed one does. It is applied when this
module is imported, i.e. when the app module loads, before the first websocket connects.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import panel as pn
import param

from ..limits import UPLOAD_CHUNK_BYTES
from . import styles

log = logging.getLogger(__name__)

# Bytes per websocket message the browser sends (inventory_panel/limits.py: the server's message limit follows it).
CHUNK_BYTES = UPLOAD_CHUNK_BYTES
# All binary buffers of one websocket message together: the app's largest is one upload chunk.
MAX_MESSAGE_BUFFER_BYTES = 2 * CHUNK_BYTES


def bound_message_buffers(limit: int = MAX_MESSAGE_BUFFER_BYTES) -> None:
    """Make Bokeh's ``Receiver`` refuse a message whose buffers together pass ``limit`` bytes (once per process)."""
    from bokeh.protocol import receiver
    from bokeh.protocol.exceptions import ValidationError

    cls = receiver.Receiver
    if getattr(cls, "_inventory_buffer_limit", None) is not None:
        cls._inventory_buffer_limit = limit
        return
    original = cls._BUFFER_PAYLOAD

    def _BUFFER_PAYLOAD(self: Any, fragment: Any) -> None:
        if self._partial is not None:
            total = getattr(self._partial, "_inventory_buffer_bytes", 0) + len(fragment)
            if total > cls._inventory_buffer_limit:
                self._partial = None  # drop what the message collected; the server closes the connection
                self._current_consumer = self._HEADER
                raise ValidationError(f"message buffers exceed {cls._inventory_buffer_limit} bytes")
            self._partial._inventory_buffer_bytes = total
        original(self, fragment)

    cls._inventory_buffer_limit = limit
    cls._BUFFER_PAYLOAD = _BUFFER_PAYLOAD


bound_message_buffers()


# The drop area in the page's colours with a dashed outline. Panel's grey (--panel-surface-color, else #f1f1f1)
# stayed light on JupyterLab's dark theme, where no Panel design sets that variable. The minimum height is the
# area's height on every other page: on JupyterLab's dark theme FilePond measured it before the theme's fonts
# applied and left it 56 px high, the help text under it covering its lower edge.
DROP_AREA_CSS = (
    styles.BASE
    + """
:host .bk-input.filepond--root { border: 1px dashed color-mix(in srgb, var(--inv-text) 35%, transparent);
                                 border-radius: 8px; min-height: 76px; }
:host .bk-input.filepond--root, :host .bk-input.filepond--root .filepond--drop-label {
  background-color: color-mix(in srgb, var(--inv-text) 5%, var(--inv-surface)); color: var(--inv-text); }
:host .filepond--root .filepond--panel-root { background-color: transparent; }
"""
)


def refusal_message(max_bytes: int) -> str:
    return (
        f"The file is larger than {max_bytes / 1_048_576:.0f} MB, the upload limit (INVENTORY_MAX_UPLOAD_MB); "
        "nothing was kept. Import larger files with the inventory-panel CLI or the Python API."
    )


class BoundedFileDropper(pn.widgets.FileDropper):
    """A single-file ``FileDropper`` that never holds more than ``max_bytes`` of an upload on the server."""

    max_bytes = param.Integer(
        default=16 * 1_048_576,
        bounds=(1, None),
        doc="Largest upload accepted, in bytes; enforced on the server as chunks arrive.",
    )
    refused = param.String(
        default=None, allow_None=True, doc="Why the latest upload was refused while it arrived; None when it was not."
    )

    # Server-side only: neither is a property of the browser's model.
    _rename: ClassVar[dict[str, str | None]] = {**pn.widgets.FileDropper._rename, "max_bytes": None, "refused": None}

    def __init__(self, **params: Any):
        params.setdefault("chunk_size", CHUNK_BYTES)
        params["multiple"] = False
        params["stylesheets"] = [DROP_AREA_CSS, *params.get("stylesheets", [])]
        super().__init__(**params)
        self._upload: tuple[str, int] | None = None  # (name, total chunks) of the upload being received
        self._next_chunk = 1
        self._received = 0

    def release(self) -> None:
        """Drop the chunks of an unfinished upload."""
        self._file_buffer.clear()
        self._upload = None
        self._next_chunk = 1
        self._received = 0

    def _refuse(self, why: str) -> None:
        log.info("upload refused: %s", why)
        self.release()
        self.refused = refusal_message(self.max_bytes)

    def _process_event(self, event: Any) -> None:
        if event.event_name != "upload_event":
            return super()._process_event(event)
        data = event.data if isinstance(event.data, dict) else {}
        name, chunk, total, piece = data.get("name"), data.get("chunk"), data.get("total_chunks"), data.get("data")
        if not (
            isinstance(name, str)
            and isinstance(chunk, int)
            and isinstance(total, int)
            and isinstance(piece, (bytes, bytearray, memoryview))
            and 1 <= chunk <= total
        ):
            log.warning("malformed upload chunk ignored")
            self.release()
            return None
        if chunk == 1:
            self.release()  # one upload at a time: a new file replaces an unfinished one
            self.refused = None
            # The browser sends ceil((size + 1) / chunk_size) chunks, so the file has at least this many bytes.
            declared = (total - 1) * self.chunk_size
            if declared > self.max_bytes:
                self._refuse(f"{total} chunks of {self.chunk_size} bytes declared")
                return None
            self._upload = (name, total)
        elif self._upload != (name, total) or chunk != self._next_chunk:
            return None  # a chunk of an upload that was refused, replaced or never started: dropped
        self._received += len(piece)
        if self._received > self.max_bytes:
            self._refuse(f"{self._received} bytes received")
            return None
        self._file_buffer.setdefault(name, []).append(bytes(piece))
        self._next_chunk += 1
        if chunk < total:
            return None
        content = b"".join(self._file_buffer.pop(name))
        self.release()
        kind = data.get("type")
        self.mime_type = {name: kind if isinstance(kind, str) else ""}
        self.value = {name: content}  # the previous file is replaced, not kept next to it
        return None
