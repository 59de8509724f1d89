"""``Pager``: "Showing 26–50 of 120 · page 2 of 5", Previous / Next and an optional page-size menu.

One pager for every paged view (the items table, the audit log). It holds no page state of its own: it is bound to
the parameters ``page``, ``page_size`` and ``total`` (and ``total_exact`` and ``rows`` when there are) of the object
that pages — the session's ``InventoryModel``, or the view itself — so that object stays the one source of truth and
the widgets follow it declaratively (``pn.bind``). ``rows`` matters: a source resets ``page`` without an event when
the reset goes with the query (new filters, a new sort, data that shrank), and the pager shows it with the rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import panel as pn
import param

from . import a11y, styles, widgets
from .formatting import fmt_int


def page_count(total: int, page_size: int, exact: bool = True) -> int:
    """Number of pages (at least 1, so "page 1 of 1" reads well when empty); when the count stopped (``exact``
    False) one more than the pages counted, so that "Next" stays possible."""
    return max(1, math.ceil(total / page_size) + (0 if exact else 1))


def range_html(page: int, page_size: int, total: int, exact: bool = True) -> str:
    """Where the person is: the rows shown, how many there are and the page."""
    first = page * page_size + 1 if total else 0
    last = min(total, (page + 1) * page_size)
    of = (
        f"{fmt_int(total)} · page {page + 1} of {fmt_int(page_count(total, page_size))}"
        if exact
        else f"more than {fmt_int(total)} · page {page + 1}"
    )
    return f'<div class="range">Showing {fmt_int(first)}–{fmt_int(last)} of {of}</div>'


class Pager(pn.viewable.Viewer):
    """Previous / Next buttons, the range shown and (with ``page_sizes``) a page-size menu over ``source``."""

    source = param.ClassSelector(
        class_=param.Parameterized,
        doc="What is paged: has the parameters page, page_size and total (and maybe total_exact and rows).",
    )
    page_sizes = param.List(default=[], item_type=int, doc="Choices of the page-size menu; empty: no menu.")

    def __init__(self, **params: Any):
        super().__init__(**params)
        s = self.source
        shown = [s.param[name] for name in ("page", "page_size", "total", "total_exact", "rows") if name in s.param]
        # A StaticText, not an HTML pane: a pane re-sends all its properties when its text changes, and on the
        # first change Panel's stylesheet list for it differs from the one it was created with, which made each
        # session's first page flip recompute the whole document, here and in the browser.
        self.range_text = pn.widgets.StaticText(
            value=pn.bind(lambda *_: range_html(s.page, s.page_size, s.total, self._exact), *shown),
            stylesheets=[styles.PAGER],
            margin=(5, 10),
        )
        # Previous / Next only when there is another page to go to: a single page shows just the range.
        several = pn.bind(lambda *_: self.page_count > 1, *shown)
        self.prev_button = pn.widgets.Button(
            label="‹ Previous",
            width=110,
            color="default",
            disabled=pn.bind(lambda *_: s.page <= 0, *shown),
            visible=several,
        )
        self.next_button = pn.widgets.Button(
            label="Next ›",
            width=90,
            color="default",
            disabled=pn.bind(lambda *_: s.page >= self.page_count - 1, *shown),
            visible=several,
        )
        self.prev_button.on_click(lambda _e: self.go(s.page - 1))
        self.next_button.on_click(lambda _e: self.go(s.page + 1))
        # The range grows to push the controls to the right end of the line; on a narrow window they wrap under it.
        self.range_text.styles = widgets.grows(200, 1)
        parts: list[Any] = [self.range_text]
        if self.page_sizes:
            # Not Select.from_param: its link would set page_size alone, and a new page size must start again at
            # the first page in the same query (resize). The menu follows the source (a notebook may set it).
            self.size_menu = pn.widgets.Select(options=size_options(self.page_sizes), value=s.page_size, width=130)
            a11y.hidden_label(self.size_menu, "Rows per page")
            self.size_menu.param.watch(lambda e: self.resize(e.new), "value")
            s.param.watch(self._show_size, "page_size")
            parts.append(self.size_menu)
        self._layout = widgets.toolbar(*parts, self.prev_button, self.next_button, margin=(4, 0))

    @property
    def _exact(self) -> bool:
        return bool(getattr(self.source, "total_exact", True))

    @property
    def page_count(self) -> int:
        return page_count(self.source.total, self.source.page_size, self._exact)

    def go(self, page: int) -> None:
        """Show ``page`` (0-based), kept within the pages there are."""
        self.source.page = max(0, min(page, self.page_count - 1))

    def resize(self, page_size: int) -> None:
        """``page_size`` rows a page, from the first page."""
        if page_size == self.source.page_size:
            return
        with param.parameterized.discard_events(self.source):
            self.source.page = 0
        self.source.page_size = page_size

    def _show_size(self, event: param.parameterized.Event) -> None:
        if event.new in self.page_sizes:  # a size the menu does not offer leaves it as it is
            self.size_menu.value = event.new

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout


def size_options(sizes: Sequence[int]) -> dict[str, int]:
    return {f"{n} per page": n for n in sizes}
