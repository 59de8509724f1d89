"""``AuditView``: the audit trail (who changed what, when), newest first — for administrators only.

The service refuses ``audit_log`` to anyone else, so this view never even asks for a non-admin: it explains
instead. Paging and the action filter run in SQL (``Inventory.audit_log``); the export streams every matching
entry page by page into a CSV whose text cells are escaped so that spreadsheets never run them.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pandas as pd
import panel as pn
import param

from ..fields import FIELD_BY_NAME
from ..inventory import escape_formula
from . import styles
from .component_root import component_root
from .formatting import esc, fmt_int, fmt_utc
from .lazy_view import LazyView
from .messages import InlineMessages
from .notify import report_error

PAGE_SIZE = 50
EXPORT_PAGE = 5000
MAX_CHANGES_CHARS = 400
ALL = ""
ACTIONS = {  # stored action -> how a person reads it
    "add": "Added", "update": "Edited", "adjust": "Stock adjusted", "delete": "Deleted", "import": "Imported",
    "denied": "Permission denied",
}
EXPORT_COLUMNS = ("id", "at", "actor", "action", "item_id", "changes", "batch_id", "detail")
SHOWN = ("at", "actor", "action", "item_id", "changes", "detail")
TITLES = {"at": "When (UTC)", "actor": "Who", "action": "Action", "item_id": "Item", "changes": "Changes",
          "detail": "Detail"}
WIDTHS = {"at": 160, "actor": 180, "action": 130, "item_id": 60, "changes": 560, "detail": 200}

TABLE_CSS = """
.tabulator .tabulator-cell { padding: 7px 8px; }
.tabulator .tabulator-col-title { font-weight: 600; }
.tabulator-row.tabulator-selected .tabulator-cell { background: transparent; }
"""


def fmt_stamp(value: Any) -> str:
    """``2025-01-31 14:05:09``: audit entries need the seconds; the column title says UTC."""
    return fmt_utc(value, "%Y-%m-%d %H:%M:%S")


def describe_changes(changes: Any, action: str | None = None, limit: int = MAX_CHANGES_CHARS) -> str:
    """The stored JSON of an entry as a person reads it: "Quantity: 3 → 5; Location: A → B" (at most ``limit``).

    An added item has no old values, so only the new ones are listed.
    """
    if not isinstance(changes, str) or not changes:  # None, or NaN where pandas filled a missing value
        return ""
    try:
        data = json.loads(changes)
    except ValueError:
        return _cut(changes, limit)
    if not isinstance(data, dict):
        return _cut(str(data), limit)
    parts = []
    for key, value in data.items():
        label = FIELD_BY_NAME[key].label if key in FIELD_BY_NAME else key
        if isinstance(value, list) and len(value) == 2 and action == "add":
            parts.append(f"{label}: {_plain(value[1])}")
        elif isinstance(value, list) and len(value) == 2:
            parts.append(f"{label}: {_plain(value[0])} → {_plain(value[1])}")
        else:
            parts.append(f"{label}: {_plain(value)}")
    return _cut("; ".join(parts), limit)


def describe_detail(detail: Any) -> str:
    """The free-text detail of an entry; a JSON object (an import's counts) reads like the changes."""
    if not isinstance(detail, str):  # None, or NaN where pandas filled a missing value
        return ""
    return describe_changes(detail) if detail.startswith("{") else _cut(detail, MAX_CHANGES_CHARS)


def _plain(value: Any) -> str:
    return "(empty)" if value is None or value == "" else str(value)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def audit_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """A page of the audit log as the table shows it: readable times, actions and changes."""
    frame = pd.DataFrame(index=pd.Index(rows["id"].astype("int64"), name="id"))
    frame["at"] = [fmt_stamp(v) for v in rows["at"]]
    frame["actor"] = rows["actor"].astype(object).to_numpy()
    frame["action"] = [ACTIONS.get(a, a) for a in rows["action"]]
    frame["item_id"] = ["" if pd.isna(v) else f"#{int(v)}" for v in rows["item_id"]]
    frame["changes"] = [describe_changes(c, a) for c, a in zip(rows["changes"], rows["action"], strict=True)]
    frame["detail"] = [describe_detail(d) for d in rows["detail"]]
    return frame


def page_count(total: int) -> int:
    """Pages of ``PAGE_SIZE`` entries (at least 1, so "page 1 of 1" reads well when empty)."""
    return max(1, -(-total // PAGE_SIZE))


def write_audit_csv(out: io.StringIO, pages: Any) -> int:
    """Write every entry of ``pages`` (an iterable of DataFrames) as CSV; returns the number of entries.

    Entries written while the export runs shift the pages by a few rows; an entry already written is skipped.
    """
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    seen: set[int] = set()
    for frame in pages:
        for row in frame.itertuples(index=False):
            values = row._asdict()
            if values["id"] in seen:
                continue
            seen.add(values["id"])
            writer.writerow([_csv_cell(name, values[name]) for name in EXPORT_COLUMNS])
    return len(seen)


def _csv_cell(name: str, value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if name == "at":
        return pd.Timestamp(value).isoformat()
    if name in ("id", "item_id"):
        return int(value)
    return escape_formula(str(value))


class AuditView(LazyView):
    """The audit log, 50 entries a page, filterable by action, exportable as CSV; admins only."""

    action = param.String(default=ALL, doc="Only entries of this action ('' for all).")
    page = param.Integer(default=0, bounds=(0, None), doc="Current page, 0-based, newest entries first.")
    rows = param.DataFrame(default=None, allow_None=True, doc="The entries of the current page (Inventory.audit_log).")
    total = param.Integer(default=0, bounds=(0, None), doc="Number of entries matching the action filter.")

    def __init__(self, **params: Any):
        super().__init__(**params)
        self._messages = InlineMessages()  # where a toast cannot show (messages.py)
        user = self.model.inventory.user if self.model.inventory is not None else None
        self.allowed = bool(user and user.can("audit"))
        self._title = pn.pane.HTML(
            '<div class="title">Audit log</div><div class="sub">Every change to the inventory: who made it and '
            "when, newest first.</div>",
            stylesheets=[styles.PANEL_TITLE], sizing_mode="stretch_width", margin=(8, 10, 4, 10))
        if not self.allowed:
            who = f"{esc(user.name)} ({esc(user.role)})" if user else "This session"
            self._layout = pn.Column(self._title, pn.pane.HTML(
                f'<div class="empty"><h2>Administrators only</h2><p>The audit log is visible to administrators. '
                f"{who} may not view it; ask an administrator to add you to INVENTORY_ADMINS.</p></div>",
                stylesheets=[styles.EMPTY], sizing_mode="stretch_width"), sizing_mode="stretch_width")
            return
        self._action = pn.widgets.Select(options={"All actions": ALL, **{v: k for k, v in ACTIONS.items()}},
                                         value=self.action, width=190, margin=(8, 10))
        self._action.param.watch(lambda e: setattr(self, "action", e.new), "value")
        self._download = pn.widgets.FileDownload(callback=self._export, filename="audit_log.csv",
                                                 label="Export CSV", width=130, margin=(8, 10), embed=False)
        self._table = pn.widgets.Tabulator(
            audit_frame(_empty_rows()), show_index=False, disabled=True, selectable=False, pagination=None,
            layout="fit_columns", sizing_mode="stretch_width", theme="fast", titles=TITLES, widths=WIDTHS,
            formatters={name: {"type": "textarea"} if name == "changes" else {"type": "plaintext"}
                        for name in SHOWN},
            sortable=False, stylesheets=[TABLE_CSS], margin=(0, 10),
            configuration={"placeholder": "No audit entries match this filter."},
        )
        self._range = pn.widgets.StaticText(value="", stylesheets=[styles.PAGER], margin=(5, 10))  # see ItemsTable
        self._prev = pn.widgets.Button(label="‹ Previous", width=110)
        self._next = pn.widgets.Button(label="Next ›", width=90)
        self._prev.on_click(lambda _e: self._go(self.page - 1))
        self._next.on_click(lambda _e: self._go(self.page + 1))
        self._layout = pn.Column(
            pn.Row(self._title, self._action, self._download, sizing_mode="stretch_width"),
            self._table,
            pn.Row(self._range, pn.layout.HSpacer(), self._prev, self._next, sizing_mode="stretch_width",
                   margin=(4, 0)),
            sizing_mode="stretch_width")
        self.reload()

    @property
    def page_count(self) -> int:
        return page_count(self.total)

    def reload(self) -> None:
        """Read the current page again (one count and one page query)."""
        self.stale = False
        if not self.allowed:
            return
        try:
            page = self.model.inventory.audit_log(offset=self.page * PAGE_SIZE, limit=PAGE_SIZE,
                                                  action=self.action or None)
            if page.rows.empty and page.total and self.page > 0:  # the filter or the data shrank under us
                with param.parameterized.discard_events(self):
                    self.page = page_count(page.total) - 1
                page = self.model.inventory.audit_log(offset=self.page * PAGE_SIZE, limit=PAGE_SIZE,
                                                      action=self.action or None)
            self.param.update(rows=page.rows, total=page.total)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message; details in the log
            report_error("Loading the audit log", exc)

    def _go(self, page: int) -> None:
        self.page = max(0, min(page, self.page_count - 1))

    @param.depends("action", watch=True)
    def _action_changed(self) -> None:
        with param.parameterized.discard_events(self):
            self.page = 0
        if self.allowed:
            self._action.value = self.action
        self.reload()

    @param.depends("page", watch=True)
    def _page_changed(self) -> None:
        self.reload()

    @param.depends("rows", "total", watch=True)
    def _render(self) -> None:
        rows = self.rows if self.rows is not None else _empty_rows()
        self._table.value = audit_frame(rows)
        first = self.page * PAGE_SIZE + 1 if self.total else 0
        last = min(self.total, (self.page + 1) * PAGE_SIZE)
        self._range.value = (f'<div class="range">Showing {fmt_int(first)}–{fmt_int(last)} of '
                              f"{fmt_int(self.total)} · page {self.page + 1} of {self.page_count}</div>")
        self._prev.disabled = self.page <= 0
        self._next.disabled = self.page >= self.page_count - 1

    def _export(self) -> io.StringIO:
        out = io.StringIO()
        try:
            write_audit_csv(out, self._all_pages())
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message; details in the log
            report_error("Exporting the audit log", exc)
            return io.StringIO("")
        out.seek(0)
        return out

    def _all_pages(self) -> Any:
        offset = 0
        while True:
            page = self.model.inventory.audit_log(offset=offset, limit=EXPORT_PAGE, action=self.action or None)
            yield page.rows
            offset += EXPORT_PAGE
            if offset >= page.total or page.rows.empty:
                return

    def __panel__(self) -> pn.viewable.Viewable:
        return component_root(self._layout, self._messages)


def _empty_rows() -> pd.DataFrame:
    return pd.DataFrame(columns=list(EXPORT_COLUMNS))
