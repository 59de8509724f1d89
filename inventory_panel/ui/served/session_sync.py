"""Two fixes for how a served session's changes travel between the server and the page (docs/workarounds.md).

1. Panel 1.9.4 can strand queued messages. When a socket is being written to, Panel queues a change as a message
   (``panel.io.document.schedule_write_events``: ``_WRITE_MSGS[doc]``, ``_WRITE_BLOCK[doc]``) and schedules a
   ``_dispatch_msgs`` task to send it. A task that finds the block cleared returns without looking at the queue,
   and a task that has just sent its batch clears the block even if more messages were queued meanwhile. A burst of
   changes (the importer's preview: some twenty changes in one step) can so leave the last messages queued with no
   task left to send them: the server logged "Check finished", the page never showed it.
   ``install_dispatch_fix`` makes a dispatch task that finds messages queued send them, whoever cleared the block.

2. BokehJS 3.9.2 re-sends models the server sent. ``Document.apply_json_patch`` marks every model defined in a
   patch from the server as new (``_new_models``), so the page's next message that names one of them — the first
   upload from a file picker that arrived with a lazily rendered tab — carries its full definition; the server
   already has it and logs ``BokehUserWarning: reference already known``, once per session. ``SERVER_MODELS_KNOWN``
   (run once the page is ready) unmarks, after each patch from the server, the models that patch defined.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)

_FIXED = "_inventory_dispatch_fix"


def install_dispatch_fix() -> bool:
    """Wrap Panel's ``_dispatch_msgs`` once per process; False (and nothing changed) if Panel's internals differ."""
    import panel.io.document as document

    dispatch = getattr(document, "_dispatch_msgs", None)
    if dispatch is None or getattr(dispatch, _FIXED, False):
        return dispatch is not None
    queued, block = getattr(document, "_WRITE_MSGS", None), getattr(document, "_WRITE_BLOCK", None)
    if queued is None or block is None:  # a Panel that queues differently: its own dispatch applies
        log.warning("Panel's write queue changed; the dispatch fix (session_sync.py) is not applied")
        return False
    document._dispatch_msgs = dispatch_sending_queued(dispatch, queued, block)
    return True


def dispatch_sending_queued(
    dispatch: Callable[[Any], Coroutine[Any, Any, None]], queued: Any, block: Any
) -> Callable[[Any], Coroutine[Any, Any, None]]:
    """``dispatch`` (Panel's ``_dispatch_msgs``) that never returns with messages of ``doc`` left in the queue."""

    @functools.wraps(dispatch)
    async def _dispatch_msgs(doc: Any) -> None:
        if doc not in block and queued.get(doc):
            block[doc] = True  # queued after another task cleared the block: Panel's task would return at once
        await dispatch(doc)

    setattr(_dispatch_msgs, _FIXED, True)
    return _dispatch_msgs


# After each patch from the server, the models it defined (``{"type": "object", "id": ...}`` anywhere in its events)
# are known to the server: they are taken out of the document's new models, so the page refers to them by id.
# Models the page itself made and has not sent yet stay new. Applied once per page (the flag on the prototype).
SERVER_MODELS_KNOWN = """
const docs = Bokeh.documents
if (docs.length && !Object.getPrototypeOf(docs[0])._inventory_server_models_known) {
  const proto = Object.getPrototypeOf(docs[0])
  const apply = proto.apply_json_patch
  const defined = (value, ids) => {
    if (Array.isArray(value)) {
      for (const item of value) defined(item, ids)
    } else if (value != null && typeof value === "object" && !ArrayBuffer.isView(value)) {
      if (value.type === "object" && typeof value.id === "string") ids.add(value.id)
      for (const key in value) defined(value[key], ids)
    }
    return ids
  }
  proto.apply_json_patch = function (patch, ...rest) {
    const result = apply.call(this, patch, ...rest)
    const ids = defined(patch.events, new Set())
    for (const model of [...this._new_models]) {
      if (ids.has(model.id)) this._new_models.delete(model)
    }
    return result
  }
  proto._inventory_server_models_known = true
}
"""


def install_page_fix() -> None:
    """Run ``SERVER_MODELS_KNOWN`` in the current session's page once it is ready (served sessions only)."""
    import panel as pn
    from bokeh.models import CustomJS

    from ..upload import FILEPOND_OPTIONS  # the importer's picker, lazily rendered after the page is ready

    doc = pn.state.curdoc
    if doc is None or doc.session_context is None:
        return
    doc.js_on_event("document_ready", CustomJS(code=SERVER_MODELS_KNOWN + FILEPOND_OPTIONS))


def install() -> None:
    """Both fixes for the current served session (the Panel one once per process)."""
    install_dispatch_fix()
    install_page_fix()
