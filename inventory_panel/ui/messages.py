"""Messages inside the component, for where a toast cannot show: a notebook, and ipywidgets comms above all.

Served, ``notify`` shows toasts. In a notebook there is no server session, and with ``comms="ipywidgets"`` (the
Databricks path, ``ip.show``) Panel's notification area fails to render ("Failed to create view for 'BokehView'"),
so a refused edit would just revert in silence. There every component shows the message itself, in an
``InlineMessages`` area at its top: the area rendered in the document (the notebook cell) the person acted in.

The policy is ``notify``'s (notify.py): an error or a warning stays beside the thing that failed until the next
result replaces it; a success or an info is brief and goes away by itself.

``Notice`` is the other kind of message: one that stays next to what it is about until the person has dealt with
it (a form's invalid fields, an edit conflict), with a head line and a list. Both are ``pn.pane.Alert``.
"""

from __future__ import annotations

import asyncio
import html
import weakref
from collections.abc import Iterable
from typing import Any

import panel as pn
import param

from . import styles
from .formatting import esc

ALERT_TYPES = {"success": "success", "info": "info", "warning": "warning", "error": "danger"}
# One compact line (Panel's alert is sized for a paragraph): the message sits above the component, not over it.
ALERT_CSS = """
:host .alert { padding: 8px 14px; margin: 0; border-radius: 8px; }
p { margin: 0; font-size: 14px; line-height: 1.45; }
"""
BRIEF_MS = 4000  # how long a success or an info stays

_AREAS: weakref.WeakSet[InlineMessages] = weakref.WeakSet()


def toasts_unavailable() -> bool:
    """Whether a toast would not reach the person: ipywidgets comms, or no server session (a notebook, a test)."""
    if pn.config.comms == "ipywidgets":
        return True
    if pn.state._is_pyodide:  # a page running Panel in the browser has its own notification area
        return False
    doc = pn.state.curdoc
    return doc is None or doc.session_context is None


class InlineMessages(pn.viewable.Viewer):
    """One component's message area: hidden until there is something to say; ``alert`` is the box shown."""

    kind = param.Selector(default="info", objects=list(ALERT_TYPES), doc="The kind of the message shown.")
    message = param.String(default="", doc="The message shown; empty when the area is hidden.")
    app_level = param.Boolean(default=False, doc="The app's own area: inside the app, the one that speaks.")

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.alert = pn.pane.Alert(
            "", alert_type="info", visible=False, sizing_mode="stretch_width", margin=(4, 10), stylesheets=[ALERT_CSS]
        )
        self._shown = 0  # counts messages, so a late expiry of a brief one never hides a newer one
        _AREAS.add(self)

    def show(self, kind: str, message: str) -> None:
        """Show ``message``; a brief kind (success, info) hides itself after ``BRIEF_MS``."""
        self._shown += 1
        self.param.update(kind=kind, message=message)
        # The pane renders Markdown: the message quotes user text (item names), so it goes in escaped.
        self.alert.param.update(object=html.escape(message), alert_type=ALERT_TYPES[kind], visible=True)
        if kind in ("success", "info"):
            self._expire_later(self._shown)

    def clear(self) -> None:
        self.message = ""
        self.alert.visible = False

    def _expire_later(self, shown: int) -> None:
        def expire() -> None:
            if self._shown == shown:
                self.clear()

        # Not pn.state.add_periodic_callback: outside a server session it runs its callback at once, then waits.
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a script, a test): the message stays until the next one replaces it
            return
        loop.call_later(BRIEF_MS / 1000, expire)

    def rendered_in(self, doc: Any) -> bool:
        """Whether this area is on screen in ``doc`` (a notebook cell's document)."""
        return any(pn.state._views.get(ref, (None, None, None))[2] is doc for ref in list(self.alert._models))

    def __panel__(self) -> pn.viewable.Viewable:
        return self.alert


def deliver(kind: str, message: str) -> bool:
    """Show the message in the areas on screen in the current document; False when there is none."""
    doc = pn.state.curdoc
    if doc is None:
        return False
    areas = [area for area in list(_AREAS) if area.rendered_in(doc)]
    # Inside the app the app's area speaks for all its views (one message, under its title bar).
    app_areas = [area for area in areas if area.app_level]
    for area in app_areas or areas:
        area.show(kind, message)
    return bool(areas)


def clear_areas() -> None:
    """Hide the message areas on screen in the current document: a later success replaces an old error."""
    doc = pn.state.curdoc
    if doc is None:
        return
    for area in list(_AREAS):
        if area.message and area.rendered_in(doc):
            area.clear()


def notice_html(head: str, lines: Iterable[str] = ()) -> str:
    """A notice's text: the head in bold, further lines as a list. Escaped, so an item name can never inject
    markup; one HTML block, so the Alert's Markdown leaves the text as it is (no emphasis out of a ``*``)."""
    items = "".join(f"<li>{esc(line)}</li>" for line in lines)
    head_html = f'<div class="head">{esc(head)}</div>' if head else ""
    return f'<div role="alert">{head_html}' + (f"<ul>{items}</ul>" if items else "") + "</div>"


class Notice(pn.viewable.Viewer):
    """A message that stays until dismissed or replaced (form errors, an edit conflict); hidden while it has
    nothing to say."""

    # allow_refs: a notice may follow state it does not own (``head=pn.bind(…)``) instead of being told.
    kind = param.Selector(
        default="info", objects=list(ALERT_TYPES), allow_refs=True, doc="Colour and meaning of the message."
    )
    head = param.String(default="", allow_refs=True, doc="The first line, in bold; empty hides the notice.")
    lines = param.List(default=[], item_type=str, allow_refs=True, doc="Further lines, shown as a list.")
    dismissible = param.Boolean(default=True, constant=True, doc="Whether a Dismiss button clears the notice.")

    def __init__(self, **params: Any):
        super().__init__(**params)
        shown = pn.bind(bool, self.param.head)
        self.alert = pn.pane.Alert(
            pn.bind(notice_html, self.param.head, self.param.lines),
            alert_type=pn.bind(ALERT_TYPES.get, self.param.kind),
            visible=shown,
            stylesheets=[styles.BANNER],
            sizing_mode="stretch_width",
            margin=(0, 0),
        )
        self._dismiss = pn.widgets.Button(
            label="Dismiss", color="default", variant="outline", width=90, margin=(6, 0, 0, 0), visible=self.dismissible
        )
        self._dismiss.on_click(lambda _event: self.clear())
        self._layout = pn.Column(self.alert, self._dismiss, sizing_mode="stretch_width", margin=(5, 10), visible=shown)

    @property
    def shown(self) -> bool:
        return bool(self.head)

    def show(self, kind: str, head: str, lines: Iterable[str] = ()) -> None:
        self.param.update(kind=kind, head=head, lines=list(lines))

    def clear(self) -> None:
        self.param.update(head="", lines=[])

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout
