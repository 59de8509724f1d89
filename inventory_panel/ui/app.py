"""``InventoryApp``: the whole app as one ``Viewer`` — inline in a notebook, or in a template under ``panel serve``.

It owns the session's ``InventoryModel`` and composes the header, the summary cards and one tab per view. A tab's
view is built the first time the tab is shown, and views with an ``active`` parameter are told whether their tab
is on screen, so hidden views do not reload on every change. Served, the app subscribes to the process-wide
live-update hub so other sessions' writes show up here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import panel as pn
import param

from ..inventory import Inventory, connect
from . import a11y, local_assets, plugins, styles
from .analytics import AnalyticsView
from .audit_view import AuditView
from .component_root import component_root
from .dashboard_view import DashboardView
from .header import HeaderBar
from .importer import ImportView
from .inventory_view import InventoryView
from .live import hub_for, subscribe_kernel, subscribe_session
from .low_stock import LowStockView
from .messages import InlineMessages
from .model import InventoryModel
from .summary import SummaryCards

log = logging.getLogger(__name__)

TITLE = "Lakebase Inventory"

# The tab bar: readable labels in both themes (Bokeh's default drew the active label dark on the dark theme's grey),
# the active tab marked in the accent colour, one hairline under the bar. On a narrow window the tabs wrap to a
# second line (Bokeh's bar clipped them: Dashboard and Audit were out of sight at 390 px, with nothing to say so).
TABS_CSS = (
    styles.BASE
    + """
.bk-header { border-bottom: 1px solid var(--inv-border); margin: 0 10px 10px; }
:host(.bk-above) .bk-headers-wrapper { flex-wrap: wrap; overflow: visible; }
.bk-tab { font-size: 14px; padding: 8px 16px 7px; color: var(--inv-muted); background: transparent;
          border: none; border-bottom: 2px solid transparent; margin-bottom: -1px; }
.bk-tab:hover { color: var(--inv-text); }
.bk-tab.bk-active { color: var(--inv-text); font-weight: 600; background: transparent;
                    border: none; border-bottom: 2px solid var(--inv-accent); }
"""
)


class InventoryApp(pn.viewable.Viewer):
    """Header, summary cards and the views (Inventory, Import, Low stock, Analytics, Dashboard, Audit).

    ``messages`` is the app's own message area (what no view on screen can show).
    """

    inventory = param.ClassSelector(class_=Inventory, doc="The service, acting as this session's user.")
    model = param.ClassSelector(class_=InventoryModel, doc="The session's shared state (built from inventory).")
    live = param.Boolean(default=True, doc="When served, refresh on other sessions' writes.")
    identify = param.Callable(
        default=None,
        doc=(
            "Without inventory (a notebook): who the person is, settings -> User. Default: the plugged-in platform's "
            "answer (ui/plugins.py: on Databricks the workspace user), else the local user."
        ),
    )
    dashboard = param.Parameter(
        default=None,
        doc=(
            "The Dashboard tab's source (ui/plugins.DashboardSource). Default: the one plugged in (the Databricks "
            "AI/BI dashboard, databricks/wiring.py), else none."
        ),
    )

    def __init__(self, inventory: Inventory | None = None, **params: Any):
        if inventory is None:  # a notebook: the environment's database, as the person running the notebook
            identify = params.get("identify") or plugins.notebook_user
            inventory = connect()
            inventory = inventory.as_user(identify(inventory.settings))
        super().__init__(inventory=inventory, **params)
        if self.model is None:  # components built from the same Inventory share this model
            self.model = InventoryModel.for_inventory(inventory)
        user = inventory.user
        self.header = HeaderBar(inventory=inventory)
        self.cards = SummaryCards(model=self.model)
        self.inventory_view = InventoryView(model=self.model)
        factories: list[tuple[str, Callable[[], Any]]] = [("Inventory", lambda: self.inventory_view)]
        if user.can("import"):
            factories.append(("Import", lambda: ImportView(model=self.model)))
        factories += [
            ("Low stock", lambda: LowStockView(model=self.model)),
            ("Analytics", lambda: AnalyticsView(model=self.model)),
            ("Dashboard", lambda: DashboardView(model=self.model, source=self.dashboard)),
        ]
        if user.can("audit"):  # the service refuses audit_log() to others anyway
            factories.append(("Audit", lambda: AuditView(model=self.model)))
        self._factories = dict(factories)
        self.titles = list(self._factories)
        self.views: dict[str, Any] = {}  # the views built so far: a tab's view is built when first shown
        # Each tab is a slot that receives its view on first show. Building every view at once (charts, the
        # low-stock table, the audit trail) was most of the time to a new session's first rows.
        self._slots = {title: pn.Column(sizing_mode="stretch_width", margin=0) for title in self.titles}
        self.tabs = pn.Tabs(
            *self._slots.items(), dynamic=True, sizing_mode="stretch_width", margin=(0, 0), stylesheets=[TABS_CSS]
        )
        self.tabs.param.watch(self._tab_changed, "active")
        self.inventory_view.param.watch(lambda _e: self.show("Import"), "import_requested")
        self.cards.param.watch(lambda _e: self.show("Inventory"), "filter_requested")  # a card filtered the table
        self._tab_changed()
        self.body = pn.Column(self.cards, self.tabs, sizing_mode="stretch_width")
        self._subscribed_docs: set[int] = set()
        self.messages = InlineMessages(app_level=True)
        log.debug("app built for %s (%s)", user.name, user.role)

    def view(self, title: str) -> Any:
        """The view of the tab called ``title``, built (and put in its tab) if it was not yet."""
        if title not in self.views:
            view = self.views[title] = self._factories[title]()
            if "active" in view.param:
                view.active = self.titles[self.tabs.active] == title
            self._slots[title].objects = [view]
        return self.views[title]

    def show(self, title: str) -> None:
        """Switch to the tab called ``title`` (if the person may see it)."""
        if title in self.titles:
            self.tabs.active = self.titles.index(title)

    def _tab_changed(self, *_events: Any) -> None:
        shown = self.titles[self.tabs.active]
        for title, view in self.views.items():
            if "active" in view.param:
                view.active = title == shown
        self.view(shown)

    def _subscribe_live(self) -> None:
        doc = pn.state.curdoc
        if not self.live:
            return
        if doc is None or doc.session_context is None:  # a notebook: reload on the kernel's loop
            from .components import in_notebook

            if in_notebook():
                subscribe_kernel(hub_for(self.inventory), self.model)
            return
        if id(doc) in self._subscribed_docs:
            return
        key = subscribe_session(hub_for(self.inventory), self.model.external_change)
        if key is not None:
            self._subscribed_docs.add(id(doc))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        """In a notebook: load the Panel extensions the app needs first (no ``pn.extension`` call needed)."""
        from .components import ensure_extensions

        ensure_extensions()
        return super()._repr_mimebundle_(include, exclude)

    def __panel__(self) -> pn.viewable.Viewable:
        """The app without a page template (a notebook cell): its own title bar, the app's accent colour."""
        self._subscribe_live()
        title = pn.pane.HTML(
            f'<div class="app-title">{TITLE}</div>', stylesheets=[styles.HEADER], align="center", margin=(0, 16)
        )
        bar = pn.Row(
            title,
            pn.layout.HSpacer(),
            HeaderBar(inventory=self.inventory),
            sizing_mode="stretch_width",
            height=56,
            margin=(0, 0, 8, 0),
            styles={"background": styles.ACCENT, "border-radius": "8px", "padding": "0 12px 0 0"},
        )
        # The app's message area (under its title bar) speaks for all its views where toasts cannot show.
        return component_root(pn.Column(bar, self.messages, self.body, sizing_mode="stretch_width", margin=0))

    def template(self) -> pn.template.BaseTemplate:
        """The app in a full-page template (title bar with user, role and database; light/dark switch)."""
        self._subscribe_live()
        # No busy indicator: Panel's is one process-wide flag shown in every session, so each event of any session
        # was sent to all of them (two updates per click per open session: with 50 sessions, most of the server's
        # time). Long work shows its own progress (the import) and a page flip takes milliseconds.
        page = pn.template.FastListTemplate(
            title=TITLE,
            header=[self.header],
            # The app's message area first: an error with no place of its own stays there (notify.py's policy).
            main=[self.messages, self.body],
            accent=styles.ACCENT,
            theme_toggle=True,
            main_layout=None,
            main_max_width="1600px",
            busy_indicator=None,
            design=a11y.AppDesign,  # contrast and focus for WCAG 2.2 AA (a11y.py)
            font=local_assets.FONT,  # the system's font: no web font to fetch (local_assets.py)
        )
        return a11y.accessible(page)
