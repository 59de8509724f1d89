"""The public components: each one works alone as the last expression of a notebook cell, with no setup.

``InventoryEditor``, ``CsvImporter``, ``ValidationReport``, ``LowStock``, ``Analytics``, ``SummaryCards``,
``DashboardFrame`` and ``AuditLog`` are the app's views with a notebook-friendly constructor: each takes
``inventory=`` (an ``Inventory``) or ``model=`` (an ``InventoryModel``), and components built from the same
``Inventory`` object share one model (``InventoryModel.for_inventory``), so an import in one shows in all.

Shown in a notebook, a component first loads the Panel extensions the package needs (``ensure_extensions``):
``pn.extension`` must have loaded every extension's JavaScript into the page before the first object that uses
it is displayed, and nobody should have to know which ones that is. It also subscribes its model to the
process-wide live-update hub (``live.subscribe_kernel``), so writes made from Python reach what is on screen.
"""

from __future__ import annotations

import builtins
from typing import Any

import panel as pn
import param

from ..importing import ImportReport
from ..inventory import Inventory
from ..words import plural
from . import styles, widgets
from .analytics import AnalyticsView
from .audit_view import AuditView
from .component_root import component_root
from .dashboard_view import DashboardView
from .formatting import esc
from .import_report import problems_title
from .importer import CSS as IMPORT_CSS
from .importer import ERROR_TITLES, ImportView, counts_html, error_rows, summary_sentence
from .inventory_view import InventoryView
from .live import hub_for, subscribe_kernel, subscribe_session
from .low_stock import LowStockView
from .model import InventoryModel
from .summary import SummaryCards as _SummaryCards

# Every Panel extension a component of this package may need: the tables, the importer's drop area (FilePond),
# the item dialog. All are loaded at once: loading one later reloads the notebook's Bokeh/Panel bundle.
EXTENSIONS = ("tabulator", "filedropper", "modal")


def in_notebook() -> bool:
    """True in an IPython kernel (Jupyter, Databricks), where Panel renders through the notebook's comms."""
    if not hasattr(builtins, "__IPYTHON__"):
        return False
    from IPython import get_ipython

    return hasattr(get_ipython(), "kernel")


def ensure_extensions(**params: Any) -> None:
    """Load ``EXTENSIONS`` into this notebook (once per kernel, or again if someone loaded fewer): what
    ``pn.extension(*EXTENSIONS, ...)`` in a cell above would do. ``params`` go to ``pn.extension`` (``comms=``)."""
    if not in_notebook():  # nothing to load into a page; still honour comms= (the config the widget is built with)
        if params:
            pn.extension(**params)
        return
    from panel.config import panel_extension

    missing = [name for name in EXTENSIONS if name not in panel_extension._loaded_extensions]
    if panel_extension._loaded and not missing:  # loaded: only switch the comms if asked (show on Databricks)
        # Set, not pn.extension(comms=...): every pn.extension call publishes Panel's loader again. Run while the
        # first load is still under way (Run All), it clears window.Bokeh and loads BokehJS and Panel once more, and
        # the ipywidget shown in the same cell fails while window.Bokeh is gone ("Could not create a view for model
        # id"). docs/workarounds.md: "every pn.extension() call loads BokehJS again".
        if "comms" in params:
            pn.config.comms = params.pop("comms")
        if params:
            pn.extension(**params)
        return
    comms = params.get("comms", pn.config.comms)
    # Toasts need a Bokeh view of their own, which ipywidgets comms cannot create ("Failed to create view for
    # 'BokehView'"); there each component shows its messages itself (messages.InlineMessages).
    notifications = comms not in ("ipywidgets", "vscode")
    pn.extension(*EXTENSIONS, notifications=notifications, **params)


def shared_model(inventory: Inventory | None, model: InventoryModel | None) -> InventoryModel:
    """``model`` if given, else the one model of ``inventory`` (``InventoryModel.for_inventory``)."""
    if model is not None:
        if inventory is not None and model.inventory is not inventory:
            raise ValueError("pass inventory= or model=, not a model of another inventory")
        return model
    if inventory is None:
        raise TypeError("pass inventory= (an Inventory) or model= (an InventoryModel)")
    return InventoryModel.for_inventory(inventory)


def watch_writes(model: InventoryModel) -> None:
    """Reload ``model`` after every write to its database: in a served session through the session's document,
    in a notebook on the kernel's loop; elsewhere (a test building components) nothing is on screen to update."""
    doc = pn.state.curdoc
    hub = hub_for(model.inventory)
    if doc is not None and doc.session_context is not None:
        seen = model.__dict__.setdefault("_live_docs", set())
        if id(doc) not in seen and subscribe_session(hub, model.external_change) is not None:
            seen.add(id(doc))
    elif in_notebook():
        subscribe_kernel(hub, model)


class NotebookComponent:
    """Mixin of the public components: ``inventory=`` or ``model=``, extensions and live updates when shown."""

    model: InventoryModel

    def __init__(self, inventory: Inventory | None = None, model: InventoryModel | None = None, **params: Any):
        super().__init__(model=shared_model(inventory, model), **params)

    @property
    def inventory(self) -> Inventory:
        """The ``Inventory`` this component shows (its model's)."""
        return self.model.inventory

    def __panel__(self) -> pn.viewable.Viewable:
        watch_writes(self.model)
        return super().__panel__()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        ensure_extensions()
        return super()._repr_mimebundle_(include, exclude)


class InventoryEditor(NotebookComponent, InventoryView):
    """The items table: search and filters, sortable columns, the pager, inline edits, and the item panel (add,
    edit, adjust stock, history) — ``InventoryEditor(inventory=inv)``."""


class CsvImporter(NotebookComponent, ImportView):
    """Import items from a CSV file or a workbook: drop area / file picker, mode and all-or-nothing options, a
    check (nothing written) with its report, then the import with progress and result —
    ``CsvImporter(inventory=inv)``."""


class LowStock(NotebookComponent, LowStockView):
    """Items at or below their reorder level, most urgent first — ``LowStock(inventory=inv)``."""


class Analytics(NotebookComponent, AnalyticsView):
    """Charts of the inventory's value and stock by category and location — ``Analytics(inventory=inv)``."""


class SummaryCards(NotebookComponent, _SummaryCards):
    """The headline figures: items, units, total value, low and out of stock — ``SummaryCards(inventory=inv)``."""


class DashboardFrame(NotebookComponent, DashboardView):
    """The published Databricks AI/BI dashboard of the inventory, embedded — ``DashboardFrame(inventory=inv)``."""


class AuditLog(NotebookComponent, AuditView):
    """Who changed what and when, newest first, filterable by action (auditors and admins) —
    ``AuditLog(inventory=inv)``."""


# The report's problem table reads row by row: narrow columns for the row, the column and the value, the rest for
# the problem, and a hairline between rows (the problem can wrap).
REPORT_WIDTHS = {"row": 64, "column": 150, "value": 200}
REPORT_TABLE_CSS = """
.tabulator .tabulator-row { border-bottom: 1px solid color-mix(in srgb, currentColor 12%, transparent); }
.tabulator .tabulator-cell { white-space: normal; }
"""


class ValidationReport(pn.viewable.Viewer):
    """An ``ImportReport`` as a person reads it: what would be (or was) added, updated and rejected, the warnings
    and every rejected cell with its spreadsheet row — ``ValidationReport(report=inv.import_csv(p, dry_run=True))``.

    Public parts: ``banner``, ``counts``, ``warnings`` and ``errors`` (the rejected cells).
    """

    report = param.ClassSelector(class_=ImportReport, doc="The report of a check (dry run) or an import.")

    def __init__(self, report: ImportReport | None = None, **params: Any):
        super().__init__(report=report, **params)
        sheets = [IMPORT_CSS, styles.BANNER]  # strings: each document gets its own style sheet models
        # One left edge and even gaps: every part has the same margin, the table's cells line up with the text.
        self.banner = pn.pane.HTML(sizing_mode="stretch_width", stylesheets=sheets, margin=(0, 0, 10, 0))
        self.counts = pn.pane.HTML(sizing_mode="stretch_width", stylesheets=sheets, margin=(0, 0, 10, 0))
        self.warnings = pn.pane.HTML(sizing_mode="stretch_width", stylesheets=sheets, margin=(0, 0, 10, 0))
        self._errors_head = pn.pane.HTML(sizing_mode="stretch_width", stylesheets=sheets, margin=(4, 0, 6, 0))
        # The importer's problem table: the theme that follows light/dark, plain-text cells, row numbers right.
        self.errors = widgets.table(
            None,
            titles=ERROR_TITLES,
            widths=REPORT_WIDTHS,
            disabled=True,
            layout="fit_data_stretch",
            max_height=420,
            formatters={c: {"type": "plaintext"} for c in ERROR_TITLES},
            text_align={"row": "right"},
            header_align={"row": "right"},
            sortable=False,
            stylesheets=[styles.TABLE, REPORT_TABLE_CSS],
            margin=0,
        )
        self._render()

    @param.depends("report", watch=True)
    def _render(self) -> None:
        report = self.report
        if report is None:
            self.banner.object = '<div class="banner info">No report yet: check or import a file to see one.</div>'
            self.counts.object = self.warnings.object = self._errors_head.object = ""
            self.counts.visible = self.warnings.visible = self._errors_head.visible = self.errors.visible = False
            return
        head = "Check — nothing has been written." if report.dry_run else "Import finished."
        kind = "success" if report.ok else "warning"
        name = f"<b>{esc(report.file)}</b>: " if report.file else ""
        self.banner.object = (
            f'<div class="banner {kind}" role="status"><div class="head">{head}</div>'
            f"{name}{esc(summary_sentence(report))}</div>"
        )
        self.counts.object = counts_html(report)
        self.counts.visible = True
        self.warnings.object = (
            ""
            if not report.warnings
            else '<div class="banner warning"><div class="head">'
            f"{plural(len(report.warnings), 'Warning')}</div><ul>"
            + "".join(f"<li>{esc(w)}</li>" for w in report.warnings)
            + "</ul></div>"
        )
        self.warnings.visible = bool(report.warnings)
        shown = len(report.errors) > 0
        self._errors_head.visible = self.errors.visible = shown
        if shown:
            self._errors_head.object = (
                f'<div class="section">{problems_title(report)}</div>'
                '<div class="muted">Row numbers are the ones a spreadsheet shows (the header '
                "is row 1).</div>"
            )
            self.errors.value = error_rows(report)

    def __panel__(self) -> pn.viewable.Viewable:
        return component_root(
            pn.Column(
                self.banner,
                self.counts,
                self.warnings,
                self._errors_head,
                self.errors,
                sizing_mode="stretch_width",
                margin=(8, 10),
            )
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        ensure_extensions()
        return super()._repr_mimebundle_(include, exclude)


__all__ = [
    "EXTENSIONS",
    "Analytics",
    "AuditLog",
    "CsvImporter",
    "DashboardFrame",
    "InventoryEditor",
    "LowStock",
    "SummaryCards",
    "ValidationReport",
    "ensure_extensions",
]
