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
- ``release()`` drops everything, for when the session ends;
- ``clear()`` empties the picker in the page too (Panel's dropper has no way to: FilePond kept showing the old
  file after "Choose another file"), and FilePond's chip says "Upload complete" once the last chunk is sent, not
  after a made-up minimum duration (``FILEPOND_OPTIONS``: its default ``allowMinimumUploadDuration`` animated
  "Uploading 58%" on for a second or more, while the check's results were already on screen).

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
from bokeh.models import CustomJS

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


# FilePond's page-wide options (applied to existing pickers too): without a minimum upload duration its chip reports
# the real progress and says "Upload complete" when the last chunk is sent. Run once the page is ready
# (``served/session_sync.py``) and when a dropper's document is (a notebook cell).
FILEPOND_OPTIONS = "if (window.FilePond) { window.FilePond.setOptions({allowMinimumUploadDuration: false}) }"

# Run in the page when ``cleared`` changes (the model's ``tags``): the picker's FilePond drops its files. Removing a
# finished file makes FilePond send a delete event, which ``_process_event`` ignores for a file no longer held.
CLEAR_PICKER = """
const view = Bokeh.index.find_one(cb_obj)
if (view != null && view._file_pond != null) view._file_pond.removeFiles()
"""


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
    cleared = param.Integer(
        default=0, doc="How many times the picker was emptied from the server; each change empties it in the page."
    )

    # Server-side only: neither is a property of the browser's model; ``cleared`` travels as the model's tags.
    _rename: ClassVar[dict[str, str | None]] = {
        **pn.widgets.FileDropper._rename,
        "max_bytes": None,
        "refused": None,
        "cleared": "tags",
    }

    def __init__(self, **params: Any):
        params.setdefault("chunk_size", CHUNK_BYTES)
        params["multiple"] = False
        params["stylesheets"] = [DROP_AREA_CSS, *params.get("stylesheets", [])]
        super().__init__(**params)
        self._upload: tuple[str, int] | None = None  # (name, total chunks) of the upload being received
        self._next_chunk = 1
        self._received = 0

    def _process_param_change(self, params: dict[str, Any]) -> dict[str, Any]:
        params = super()._process_param_change(params)
        if "tags" in params:
            doc = pn.state.curdoc
            if doc is None or doc.session_context is None:  # a notebook: jupyter_bokeh's view fails on these tags
                del params["tags"]
            else:
                params["tags"] = [f"inventory-cleared-{params['tags']}"]
        return params

    def _get_model(self, doc: Any, root: Any = None, parent: Any = None, comm: Any = None) -> Any:
        model = super()._get_model(doc, root, parent, comm)
        model.js_on_change("tags", CustomJS(code=CLEAR_PICKER))
        doc.js_on_event("document_ready", CustomJS(code=FILEPOND_OPTIONS))
        return model

    def clear(self) -> None:
        """Forget the file here and in the page: the picker shows no file afterwards."""
        self.release()
        with param.parameterized.discard_events(self):
            self.param.update(value={}, mime_type={}, refused=None)
        self.cleared += 1

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
        if event.event_name == "delete_event":  # the person removed the file, or clear() did
            data = event.data if isinstance(event.data, dict) else {}
            if data.get("name") in self.value:
                self.value = {}
            return None
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
