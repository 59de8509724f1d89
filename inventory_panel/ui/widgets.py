"""The widgets every view builds the same way: its tables, its download buttons and its title.

One place for what they share, so a view names only what is its own (columns, formatters, size).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import panel as pn

from . import styles

# The columns without a fixed width share what is left (fit_columns); below this they would shrink to a few letters
# in a narrow window (the Item name column was 40 px wide at 800 px), so the table scrolls sideways inside its card.
FLEX_MIN_WIDTH = 160


def min_widths(names: Iterable[str], widths: Mapping[str, Any], columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tabulator's per-column options ``columns`` with ``minWidth`` set on each column of ``names`` that has no
    fixed width (and no minimum of its own)."""
    merged = {c["field"]: dict(c) for c in columns}
    for name in names:
        if name not in widths and "minWidth" not in merged.get(name, {}):
            merged.setdefault(name, {"field": name})["minWidth"] = FLEX_MIN_WIDTH
    return list(merged.values())


def table(value: Any, *, titles: Mapping[str, str], widths: Mapping[str, Any], **params: Any) -> pn.widgets.Tabulator:
    """A Tabulator as every table here has it: no index column, no row selection, the full width, the "fast"
    theme (it follows light and dark), and columns that never narrow below ``FLEX_MIN_WIDTH`` (the table scrolls
    sideways instead); ``params`` are the view's own options."""
    configuration = dict(params.pop("configuration", None) or {})
    # The columns are the titled ones, and the value's (a bound value is a function until the page is drawn).
    names = [*titles, *(c for c in getattr(value, "columns", ()) if c not in titles)]
    configuration["columns"] = min_widths(names, widths, configuration.get("columns", []))
    return pn.widgets.Tabulator(
        value,
        show_index=False,
        selectable=False,
        sizing_mode="stretch_width",
        theme="fast",
        titles=titles,
        widths=widths,
        configuration=configuration,
        **params,
    )


# Tabulator's pager only when there is a second page to go to (as ui/pager.py does): its page buttons carry their
# number in data-page, so a footer without a page 2 has nothing to offer but "First Prev 1 Next Last".
ONE_PAGE_CSS = """.tabulator-footer:not(:has(.tabulator-page[data-page="2"])) { display: none; }"""


def paged_table(
    value: Any, *, titles: Mapping[str, str], widths: Mapping[str, Any], page_size: int, **params: Any
) -> pn.widgets.Tabulator:
    """A read-only ``table`` paged in the browser, ``page_size`` rows a page: for lists the person reads (the
    import's problems, the reorder list), not edits."""
    params["stylesheets"] = [*params.get("stylesheets", []), ONE_PAGE_CSS]
    return table(value, titles=titles, widths=widths, disabled=True, pagination="local", page_size=page_size, **params)


def download(callback: Callable[[], Any], filename: str, label: str, **params: Any) -> pn.widgets.FileDownload:
    """A download button whose file is built when it is clicked (``embed=False``), not with the page."""
    return pn.widgets.FileDownload(callback=callback, filename=filename, label=label, embed=False, **params)


def heading(html: str = "") -> pn.pane.HTML:
    """A view's title pane: its heading and a line under it (``<div class="title">`` / ``<div class="sub">``)."""
    return pn.pane.HTML(html, stylesheets=[styles.PANEL_TITLE], sizing_mode="stretch_width", margin=(8, 10, 4, 10))


def grows(basis: int, grow: int, most: int | None = None) -> dict[str, str]:
    """Inline styles of a control in a ``toolbar``: ``basis`` px wide, taking ``grow`` shares of the line's room
    (at most ``most`` px)."""
    return {"flex": f"{grow} 1 {basis}px", "min-width": "0", **({"max-width": f"{most}px"} if most else {})}


def toolbar(*objects: Any, **params: Any) -> pn.FlexBox:
    """A row of controls that wraps: not a Row, whose width is the sum of its widgets' (the filters and the actions
    were 1,000 px together, and the page scrolled sideways at 800 px with the actions out of sight)."""
    options = {"flex_wrap": "wrap", "align_items": "center", "sizing_mode": "stretch_width", "margin": 0, **params}
    return pn.FlexBox(*objects, **options)


def title_bar(title: pn.pane.HTML, *controls: Any) -> pn.FlexBox:
    """A view's ``heading`` with its controls at the end of the line; on a narrow window the controls wrap under
    the heading (in a Row the heading was squeezed to one letter a line at 390 px)."""
    title.styles = grows(320, 1)
    return toolbar(title, *controls)
