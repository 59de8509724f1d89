"""Components alone in notebook cells: no Bokeh model shared between documents, the app's look on every component,
and messages inside the component where a toast cannot show (a notebook, ipywidgets comms)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import panel as pn
import pytest
from bokeh.document import Document
from panel.io.state import set_curdoc

from inventory_panel.fields import FIELD_BY_NAME
from inventory_panel.ui import messages, panel_fixes, styles
from inventory_panel.ui.analytics import AnalyticsView
from inventory_panel.ui.app import InventoryApp
from inventory_panel.ui.audit_view import AuditView
from inventory_panel.ui.dashboard_view import DashboardView
from inventory_panel.ui.importer import ImportView
from inventory_panel.ui.inventory_view import InventoryView
from inventory_panel.ui.low_stock import LowStockView
from inventory_panel.ui.model import InventoryModel
from inventory_panel.ui.summary import SummaryCards
from inventory_panel.ui.table import ItemsTable

COMPONENTS = (SummaryCards, InventoryView, ImportView, LowStockView, AnalyticsView, DashboardView, AuditView)


def add(inv, name, quantity, minimum=None):
    return inv.add(
        {"item_name": name, "category": "Tools", "quantity": quantity, "unit_price": "2.50", "minimum_stock": minimum}
    )


def cell(component) -> Document:
    """What showing ``component`` as a notebook cell's output does: its own document, no server session."""
    doc = Document()
    doc.add_root(pn.panel(component).get_root(doc))
    return doc


def shared_models(docs: list[Document]) -> list[str]:
    seen: dict[int, int] = {}
    shared = []
    for n, doc in enumerate(docs):
        for model in doc.models:
            if seen.setdefault(id(model), n) != n:
                shared.append(type(model).__name__)
    return shared


def one_component_per_cell(inv) -> tuple[InventoryModel, list[Document]]:
    add(inv, "Anvil", 1, 5)
    add(inv, "Bolt", 30, 5)
    model = InventoryModel(inventory=inv)
    low = LowStockView(model=model)
    docs = [cell(cls(model=model)) for cls in COMPONENTS] + [cell(low), cell(low)]  # one component in two cells
    return model, docs


def write_from_cell(inv, model: InventoryModel, doc: Document) -> None:
    """A write made from one cell (Panel's current document is that cell's) that re-renders every other cell."""
    with set_curdoc(doc):
        add(inv, "Chisel", 0, 3)
        model.changed()


def test_components_in_several_cells_share_no_model_when_one_cell_writes(inv, caplog):
    model, docs = one_component_per_cell(inv)
    assert shared_models(docs) == []
    with caplog.at_level(logging.WARNING):
        write_from_cell(inv, model, docs[2])  # the importer's cell
        write_from_cell(inv, model, docs[0])
    assert "already in a doc" not in caplog.text
    assert shared_models(docs) == []
    assert "Chisel" in set(LowStockView(model=model).table.value["item_name"])


@contextmanager
def panel_unpatched() -> Iterator[None]:
    from panel.pane.base import Pane
    from panel.reactive import Syncable

    patched = Pane._update_object, Syncable._apply_update
    Pane._update_object, Syncable._apply_update = panel_fixes.unpatched()
    try:
        yield
    finally:
        Pane._update_object, Syncable._apply_update = patched


def test_panel_still_needs_the_document_fix(inv):
    """When this fails, Panel keeps each document's style sheets apart itself: delete ui/panel_fixes.py."""
    model, docs = one_component_per_cell(inv)
    with panel_unpatched(), pytest.raises(RuntimeError, match="already in a doc"):
        write_from_cell(inv, model, docs[2])


@pytest.mark.parametrize("component", [*COMPONENTS, InventoryApp], ids=lambda c: c.__name__)
def test_every_component_carries_the_apps_variables_on_its_root(inv, component):
    shown = component(inventory=inv) if component is InventoryApp else component(model=InventoryModel(inventory=inv))
    root = pn.panel(shown).get_root(Document())
    assert styles.VARIABLES in root.stylesheets
    assert f"--design-primary-color: {styles.ACCENT}" in styles.VARIABLES


def edit(table: ItemsTable, name: str, column: str, value) -> None:
    from panel.models.tabulator import TableEditEvent

    frame = table.table.value.copy()
    row = frame["item_name"].tolist().index(name)
    frame.iloc[row, frame.columns.get_loc(column)] = value
    table.table.value = frame
    table.table._process_event(TableEditEvent(model=None, column=column, row=row, pre=False))


def test_an_invalid_cell_edit_in_a_notebook_shows_the_message_in_the_editor(inv):
    add(inv, "Bolt", 3, 5)
    editor = InventoryView(model=InventoryModel(inventory=inv))
    other = LowStockView(model=InventoryModel(inventory=inv))
    doc, _ = cell(editor), cell(other)
    with set_curdoc(doc):  # Panel processes a notebook cell's browser events with its document current
        assert messages.toasts_unavailable()
        edit(editor.table, "Bolt", "unit_price", "12.345")
    # The error stays beside the thing that failed: the table's notice, in the editor's cell (ui/notify.py).
    notice, shown = editor.table.conflict, editor.messages
    assert notice.kind == "error" and FIELD_BY_NAME["unit_price"].msg_scale() in notice.head
    assert notice.alert.visible and notice.alert.alert_type == "danger"
    assert shown.message == "" and other.messages.message == ""  # said once, not in every cell
    with set_curdoc(doc):  # the next action replaces the error
        edit(editor.table, "Bolt", "unit_price", "12.50")
    assert not notice.shown
    assert shown.kind == "success" and "Saved unit price of Bolt" in shown.message


def test_inside_the_app_the_apps_area_speaks_once(inv):
    add(inv, "Bolt", 3, 5)
    app = InventoryApp(inventory=inv)
    doc = cell(app)
    with set_curdoc(doc):
        edit(app.inventory_view.table, "Bolt", "unit_price", "-1")
    assert app.inventory_view.table.conflict.kind == "error"  # beside the table
    assert app.messages.message == "" and app.inventory_view.messages.message == ""  # and nowhere else
    with set_curdoc(doc):
        edit(app.inventory_view.table, "Bolt", "unit_price", "3.00")
    assert app.messages.kind == "success" and app.messages.alert.visible  # the app's area speaks for its views
    assert app.inventory_view.messages.message == "" and not app.inventory_view.table.conflict.shown


def test_toasts_cannot_show_with_ipywidgets_comms_even_in_a_session(monkeypatch):
    class Session:
        pass

    doc = Document()
    monkeypatch.setattr(doc, "_session_context", lambda: Session(), raising=False)
    with set_curdoc(doc):
        assert doc.session_context is not None and not messages.toasts_unavailable()
        with pn.config.set(comms="ipywidgets"):
            assert messages.toasts_unavailable()


def test_on_databricks_show_gives_an_ipywidget_and_a_refused_edit_is_said_inside_the_app(inv, monkeypatch):
    """The Databricks path in process: ``show`` picks ipywidgets comms, where Panel's toasts cannot render."""
    import ipywidgets

    from inventory_panel.databricks.notebook import show

    # What show() sets up in a notebook kernel on Databricks (pn.extension(comms="ipywidgets")), undone afterwards.
    monkeypatch.setattr(pn.config, "comms", "ipywidgets")
    add(inv, "Bolt", 3, 5)
    app = InventoryApp(inventory=inv)
    widget = show(app, env={"DATABRICKS_RUNTIME_VERSION": "16.4"})
    assert isinstance(widget, ipywidgets.DOMWidget)
    # Panel processes the widget's browser events with the document it rendered the app into current (the app's
    # widget is the container's content: it goes in once the browser can draw it, databricks/widget_view.py).
    doc = pn.state._views[widget.content._model.ref["id"]][2]
    with set_curdoc(doc):
        assert messages.toasts_unavailable()
        edit(app.inventory_view.table, "Bolt", "unit_price", "abc")
    notice = app.inventory_view.table.conflict  # the error stays beside the table (ui/notify.py's policy)
    assert notice.kind == "error" and notice.shown
    assert "not saved" in notice.head and "Unit price must be a number" in notice.head
    assert str(inv.query(search="Bolt").rows.iloc[0]["unit_price"]) == "2.50"


def test_a_success_goes_by_itself_and_an_error_stays(monkeypatch):
    import asyncio

    monkeypatch.setattr(messages, "BRIEF_MS", 50)
    area = messages.InlineMessages()

    async def in_a_notebook_kernel():  # the kernel runs an event loop, as Jupyter's does
        area.show("success", "Saved.")
        assert area.alert.visible
        await asyncio.sleep(0.2)
        assert not area.alert.visible and area.message == ""
        area.show("error", "Not saved.")
        area.show("success", "Saved.")  # a late expiry of an older message never hides a newer one
        area.show("error", "Not saved: <b>x</b>")
        await asyncio.sleep(0.2)
        assert area.alert.visible and area.kind == "error"
        assert area.alert.object == "Not saved: &lt;b&gt;x&lt;/b&gt;"  # user text is escaped

    asyncio.run(in_a_notebook_kernel())
