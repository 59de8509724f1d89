"""``AuditView``: the audit trail (who changed what, when), newest first — for administrators only.

The service refuses ``audit_log`` to anyone else, so this view never even asks for a non-admin: it explains
instead. Paging and the action filter run in SQL (``Inventory.audit_log``); the export is the service's
(``Inventory.export_audit_csv``, newest first like the view), streamed and formula-escaped.
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import panel as pn
import param

from ..changes import describe_changes, describe_detail
from . import a11y, styles, widgets
from .component_root import component_root
from .formatting import esc, fmt_utc
from .lazy_view import LazyView
from .messages import InlineMessages
from .notify import report_error
from .pager import Pager, page_count

PAGE_SIZE = 50
MAX_CHANGES_CHARS = 400
ALL = ""
ACTIONS = {  # stored action -> how a person reads it
    "add": "Added",
    "update": "Edited",
    "adjust": "Stock adjusted",
    "delete": "Deleted",
    "import": "Imported",
    "denied": "Permission denied",
}
COLUMNS = (
    "id",
    "at",
    "actor",
    "action",
    "item_id",
    "item_name",
    "changes",
    "batch_id",
    "detail",
)  # Inventory.audit_log
SHOWN = ("at", "actor", "action", "item", "changes", "detail")
TITLES = {
    "at": "When (UTC)",
    "actor": "Who",
    "action": "Action",
    "item": "Item",
    "changes": "Changes",
    "detail": "Detail",
}
# "changes" has no fixed width: it takes what the others leave (fit_columns), so the row fits the page (a fixed
# 560 made the columns 1290 px wide in a 1260 px table and cut the detail off at the right edge).
WIDTHS = {"at": 160, "actor": 170, "action": 130, "item": 190, "detail": 200}
WRAPPED = ("item", "changes", "detail")  # long text wraps instead of being cut off


def fmt_stamp(value: Any) -> str:
    """``2025-01-31 14:05:09``: audit entries need the seconds; the column title says UTC."""
    return fmt_utc(value, "%Y-%m-%d %H:%M:%S")


def item_label(item_id: Any, name: Any) -> str:
    """``Safety Helmet (#3)``: the item's name as it was at the entry, and its id (names change, ids never do);
    ``#3`` alone when the audit holds no name for it."""
    if item_id is None or pd.isna(item_id):
        return ""
    return f"{name} (#{int(item_id)})" if isinstance(name, str) else f"#{int(item_id)}"


def audit_frame(rows: pd.DataFrame | None) -> pd.DataFrame:
    """A page of the audit log as the table shows it: readable times, actions and changes."""
    if rows is None:  # nothing read yet
        rows = pd.DataFrame(columns=list(COLUMNS))
    frame = pd.DataFrame(index=pd.Index(rows["id"].astype("int64"), name="id"))
    frame["at"] = [fmt_stamp(v) for v in rows["at"]]
    frame["actor"] = rows["actor"].astype(object).to_numpy()
    frame["action"] = [ACTIONS.get(a, a) for a in rows["action"]]
    frame["item"] = [item_label(i, n) for i, n in zip(rows["item_id"], rows["item_name"], strict=True)]
    frame["changes"] = [
        describe_changes(c, a, MAX_CHANGES_CHARS) for c, a in zip(rows["changes"], rows["action"], strict=True)
    ]
    frame["detail"] = [describe_detail(d, MAX_CHANGES_CHARS) for d in rows["detail"]]
    return frame


class AuditView(LazyView):
    """The audit log, 50 entries a page, filterable by action, exportable as CSV; admins only.

    Public parts: ``title``, ``table`` (the entries of the page), ``download`` (the CSV export) and ``messages``.
    """

    action = param.Selector(default=ALL, objects=[ALL, *ACTIONS], doc="Only entries of this action ('' for all).")
    page = param.Integer(default=0, bounds=(0, None), doc="Current page, 0-based, newest entries first.")
    page_size = param.Integer(default=PAGE_SIZE, bounds=(1, None), constant=True, doc="Entries a page.")
    rows = param.DataFrame(default=None, allow_None=True, doc="The entries of the current page (Inventory.audit_log).")
    total = param.Integer(default=0, bounds=(0, None), doc="Number of entries matching the action filter.")

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.messages = InlineMessages()  # where a toast cannot show (messages.py)
        user = self.model.inventory.user if self.model.inventory is not None else None
        self.allowed = bool(user and user.can("audit"))
        self.title = widgets.heading(
            '<div class="title">Audit log</div><div class="sub">Every change to the inventory: who made it and '
            "when, newest first.</div>",
        )
        if not self.allowed:
            who = f"{esc(user.name)} ({esc(user.role)})" if user else "This session"
            self._layout = pn.Column(
                self.title,
                pn.pane.HTML(
                    f'<div class="empty"><h2>Administrators only</h2><p>The audit log is visible to administrators. '
                    f"{who} may not view it; ask an administrator to add you to INVENTORY_ADMINS.</p></div>",
                    stylesheets=[styles.EMPTY],
                    sizing_mode="stretch_width",
                ),
                sizing_mode="stretch_width",
            )
            return
        self._action = pn.widgets.Select.from_param(
            self.param.action,
            name="",
            options={"All actions": ALL, **{v: k for k, v in ACTIONS.items()}},
            width=190,
            margin=(8, 10),
        )
        a11y.hidden_label(self._action, "Action")
        self.download = widgets.download(self._export, "audit_log.csv", "Export CSV", width=130, margin=(8, 10))
        self.table = widgets.table(
            pn.bind(audit_frame, self.param.rows),
            titles=TITLES,
            widths=WIDTHS,
            disabled=True,
            pagination=None,
            layout="fit_columns",
            formatters={name: {"type": "textarea"} if name in WRAPPED else {"type": "plaintext"} for name in SHOWN},
            sortable=False,
            stylesheets=[styles.TABLE],
            margin=(0, 10),
            configuration={"placeholder": "No audit entries match this filter."},
        )
        self.pager = Pager(source=self)
        self._layout = pn.Column(
            widgets.title_bar(self.title, self._action, self.download),
            self.table,
            self.pager,
            sizing_mode="stretch_width",
        )
        self.reload()

    @property
    def page_count(self) -> int:
        return page_count(self.total, self.page_size)

    def reload(self) -> None:
        """Read the current page again (one count and one page query)."""
        self.stale = False
        if not self.allowed:
            return
        try:
            page = self.model.inventory.audit_log(
                offset=self.page * PAGE_SIZE, limit=PAGE_SIZE, action=self.action or None
            )
            if page.rows.empty and page.total and self.page > 0:  # the filter or the data shrank under us
                with param.parameterized.discard_events(self):
                    self.page = page_count(page.total, PAGE_SIZE) - 1
                page = self.model.inventory.audit_log(
                    offset=self.page * PAGE_SIZE, limit=PAGE_SIZE, action=self.action or None
                )
            self.param.update(rows=page.rows, total=page.total)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message; details in the log
            report_error("Loading the audit log", exc)

    @param.depends("action", watch=True)
    def _action_changed(self) -> None:
        with param.parameterized.discard_events(self):
            self.page = 0
        self.reload()

    @param.depends("page", watch=True)
    def _page_changed(self) -> None:
        self.reload()

    def _export(self) -> io.StringIO:
        out = io.StringIO()
        try:
            self.model.inventory.export_audit_csv(out, action=self.action or None, newest_first=True)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message; details in the log
            report_error("Exporting the audit log", exc)
            return io.StringIO("")
        out.seek(0)
        return out

    def __panel__(self) -> pn.viewable.Viewable:
        return component_root(self._layout, self.messages)
