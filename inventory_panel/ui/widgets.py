"""The widgets every view builds the same way: its tables, its download buttons and its title.

One place for what they share, so a view names only what is its own (columns, formatters, size).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import panel as pn

from . import styles


def table(value: Any, *, titles: Mapping[str, str], widths: Mapping[str, Any], **params: Any) -> pn.widgets.Tabulator:
    """A Tabulator as every table here has it: no index column, no row selection, the full width, and the "fast"
    theme (it follows light and dark); ``params`` are the view's own options."""
    return pn.widgets.Tabulator(
        value,
        show_index=False,
        selectable=False,
        sizing_mode="stretch_width",
        theme="fast",
        titles=titles,
        widths=widths,
        **params,
    )


def paged_table(
    value: Any, *, titles: Mapping[str, str], widths: Mapping[str, Any], page_size: int, **params: Any
) -> pn.widgets.Tabulator:
    """A read-only ``table`` paged in the browser, ``page_size`` rows a page: for lists the person reads (the
    import's problems, the reorder list), not edits."""
    return table(value, titles=titles, widths=widths, disabled=True, pagination="local", page_size=page_size, **params)


def download(callback: Callable[[], Any], filename: str, label: str, **params: Any) -> pn.widgets.FileDownload:
    """A download button whose file is built when it is clicked (``embed=False``), not with the page."""
    return pn.widgets.FileDownload(callback=callback, filename=filename, label=label, embed=False, **params)


def heading(html: str = "") -> pn.pane.HTML:
    """A view's title pane: its heading and a line under it (``<div class="title">`` / ``<div class="sub">``)."""
    return pn.pane.HTML(html, stylesheets=[styles.PANEL_TITLE], sizing_mode="stretch_width", margin=(8, 10, 4, 10))
