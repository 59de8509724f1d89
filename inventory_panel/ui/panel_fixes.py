"""Updates of a component shown in several notebook documents run with *their own* document as Panel's current one.

In a notebook every cell's output is its own Bokeh document, and components sharing one ``InventoryModel`` update
each other synchronously: an import clicked in one cell re-renders the low-stock table of another. Panel 1.9 runs
those immediate (comm, no server session) updates with ``pn.state.curdoc`` still set to the cell the person clicked
in, and builds the updated models' style sheets from *that* document's stylesheet cache — so one
``ImportedStyleSheet`` ends up referenced from two documents and Bokeh raises "Models must be owned by only a single
document" (seen from ``LowStockView._render``). Served, Panel schedules such updates on the right document itself.

``install()`` wraps the two places Panel applies an immediate update of one rendered root (a pane's re-render and
a reactive object's property update) in ``set_curdoc`` of that root's document. Registered in docs/workarounds.md;
``tests/unit/test_ui_documents.py::test_panel_still_needs_the_document_fix`` tells when it can go.
"""

from __future__ import annotations

import functools
from typing import Any

_installed = False


def install() -> None:
    """Patch Panel once per process (idempotent; imported by every component's root)."""
    global _installed
    if _installed:
        return
    from panel.io.state import set_curdoc, state
    from panel.pane.base import Pane
    from panel.reactive import Syncable

    update_object = Pane._update_object

    @functools.wraps(update_object)
    def _update_object(self: Any, ref: str, doc: Any, root: Any, parent: Any, comm: Any) -> None:
        with set_curdoc(doc):
            update_object(self, ref, doc, root, parent, comm)

    apply_update = Syncable._apply_update

    @functools.wraps(apply_update)
    def _apply_update(self: Any, events: Any, msg: Any, model: Any, ref: str) -> bool:
        view = state._views.get(ref)
        if view is None:
            return apply_update(self, events, msg, model, ref)
        doc, comm = view[2], view[3]
        if comm is None and doc.session_context is not None:
            return apply_update(self, events, msg, model, ref)  # served: Panel schedules it on `doc` itself
        with set_curdoc(doc):
            return apply_update(self, events, msg, model, ref)

    Pane._update_object = _update_object  # type: ignore[method-assign]
    Syncable._apply_update = _apply_update  # type: ignore[method-assign]
    _installed = True


def unpatched() -> tuple[Any, Any]:
    """Panel's own methods (for the test that tells when this module can go)."""
    from panel.pane.base import Pane
    from panel.reactive import Syncable

    return Pane._update_object.__wrapped__, Syncable._apply_update.__wrapped__
