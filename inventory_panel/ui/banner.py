"""``Banner``: a message that stays on screen next to what it is about (form errors, an edit conflict).

Toasts disappear; a conflict or a list of invalid fields must stay until the person has dealt with it. Text is
escaped, so an item name can never inject markup.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import panel as pn
import param

from . import styles
from .formatting import esc

KINDS = ("error", "warning", "success", "info")


def banner_html(kind: str, head: str, lines: Iterable[str] = ()) -> str:
    items = "".join(f"<li>{esc(line)}</li>" for line in lines)
    body = f"<ul>{items}</ul>" if items else ""
    return f'<div class="banner {kind}" role="alert"><div class="head">{esc(head)}</div>{body}</div>'


class Banner(pn.viewable.Viewer):
    """A dismissible message box; hidden while it has nothing to say."""

    kind = param.Selector(default="info", objects=list(KINDS), doc="Colour and meaning of the message.")
    head = param.String(default="", doc="The first line, in bold.")
    lines = param.List(default=[], item_type=str, doc="Further lines, shown as a list.")

    def __init__(self, dismissible: bool = True, **params: Any):
        super().__init__(**params)
        self._html = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=[styles.BANNER], margin=(0, 0))
        self._dismiss = pn.widgets.Button(label="Dismiss", color="default", variant="outline", width=90,
                                          margin=(6, 0, 0, 0), visible=dismissible)
        self._dismiss.on_click(lambda _event: self.clear())
        self._layout = pn.Column(self._html, self._dismiss, sizing_mode="stretch_width", margin=(5, 10),
                                 visible=False)
        self._render()

    @property
    def shown(self) -> bool:
        return bool(self.head)

    def show(self, kind: str, head: str, lines: Iterable[str] = ()) -> None:
        self.param.update(kind=kind, head=head, lines=list(lines))

    def clear(self) -> None:
        self.param.update(head="", lines=[])

    @param.depends("kind", "head", "lines", watch=True)
    def _render(self) -> None:
        self._html.object = banner_html(self.kind, self.head, self.lines) if self.head else ""
        self._layout.visible = bool(self.head)

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout
