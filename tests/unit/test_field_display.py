"""The field spec drives the views: every field is shown by the items table, the item form and the Low stock view,
or deliberately hidden from them (with the reason); a field added to the spec appears without touching a view."""

from __future__ import annotations

from dataclasses import replace

import panel as pn
import pytest

from inventory_panel.fields import FIELDS, VIEWS, Display, Field, View, column_names, form_rows, search_fields
from inventory_panel.ui.model import InventoryModel

COLOUR = Field(
    "colour",
    "text",
    "Colour",
    "What colour the item is.",
    max_length=30,
    display=Display(short_label="Col.", width=80, column=35, form_row=2),
)
PLAIN = Field("batch", "integer", "Batch number", "Which batch the units came in.", minimum=0)  # no Display given


def _tabulator(viewer: pn.viewable.Viewer) -> pn.widgets.Tabulator:
    (table,) = viewer.__panel__().select(pn.widgets.Tabulator)
    return table


def _shown_columns(viewer: pn.viewable.Viewer) -> set[str]:
    table = _tabulator(viewer)
    return set(table.value.columns) - set(table.hidden_columns)


def _shown_inputs(form) -> set[str]:
    placed = form.__panel__().select(pn.widgets.Widget)
    return {name for name, widget in form.inputs.items() if any(w is widget for w in placed)}


def _expected(view: View, fields=FIELDS) -> set[str]:
    return {f.name for f in fields if f.shown_in(view)}


def test_every_field_is_shown_by_each_view_or_explicitly_hidden_from_it(inv):
    """What the built views show, against the spec: a field a view leaves out must say so (Display.hidden)."""
    from inventory_panel.ui.item_form import ItemForm
    from inventory_panel.ui.low_stock import LowStockView
    from inventory_panel.ui.table import ItemsTable

    inv.add({"item_name": "Drill", "category": "Tools", "quantity": 1, "unit_price": "9.99", "minimum_stock": 4})
    model = InventoryModel(inventory=inv)
    names = {f.name for f in FIELDS}
    shown = {
        "table": _shown_columns(ItemsTable(model=model)) & names,
        "form": _shown_inputs(ItemForm(model=model)),
        "low_stock": _shown_columns(LowStockView(model=model)) & names,
    }
    assert set(shown) == set(VIEWS)
    for view, fields in shown.items():
        assert fields == _expected(view), view
    for f in FIELDS:
        assert all(view in f.display.hidden for view in VIEWS if f.name not in shown[view]), f.name
        assert not f.display.hidden or f.display.why_hidden


def test_hiding_a_field_needs_a_reason_and_an_autocomplete_needs_a_source():
    with pytest.raises(ValueError, match="reason"):
        Display(hidden=("table",))
    with pytest.raises(ValueError, match="suggestions"):
        Display(widget="autocomplete")
    with pytest.raises(ValueError, match="suggestions"):
        Display(suggestions="values")


def test_a_new_field_appears_in_the_form_and_the_tables(inv):
    from inventory_panel.ui.item_form import ItemForm
    from inventory_panel.ui.low_stock import low_stock_columns
    from inventory_panel.ui.table import table_columns, table_frame

    inv.add({"item_name": "Drill", "category": "Tools", "quantity": 1, "unit_price": "9.99"})
    spec = (*FIELDS, COLOUR, PLAIN)
    # The form: an input for each, placed where the spec says (a row of its own, last, without a form_row).
    form = ItemForm(model=InventoryModel(inventory=inv), fields=spec)
    assert {"colour", "batch"} <= _shown_inputs(form)
    rows = [[f.name for f in row] for row in form_rows(spec)]
    assert rows[1] == ["sku", "category", "colour"] and rows[-1] == ["batch"]
    assert form.inputs["colour"].label == "Colour" and form.inputs["batch"].label == "Batch number"

    # The items table: a column with its title and width, at its place; a field without a place comes last.
    columns = table_columns(spec)
    assert columns.names.index("colour") == columns.names.index("category") + 1 and columns.names[-1] == "batch"
    assert columns.titles["colour"] == "Col." and columns.widths["colour"] == 80
    assert columns.titles["batch"] == "Batch number" and "batch" in columns.numeric
    rows_frame = inv.query().rows.assign(colour=["teal"], batch=[7])
    frame = table_frame(rows_frame, None, columns)
    assert frame["colour"].tolist() == ["teal"] and frame["batch"].tolist() == [7]
    assert "colour" in low_stock_columns(spec).names


def test_a_field_can_be_hidden_from_one_view_only():
    only_form = replace(COLOUR, display=replace(COLOUR.display, hidden=("table", "low_stock"), why_hidden="long"))
    spec = (*FIELDS, only_form)
    assert "colour" not in column_names("table", fields=spec)
    assert any(f.name == "colour" for row in form_rows(spec) for f in row)


def test_table_formatters_and_alignment_follow_the_kind_not_the_name():
    from inventory_panel.ui.table import table_columns

    renamed = tuple(replace(f, name=f"x_{f.name}") for f in FIELDS)  # no view knows these names
    columns = table_columns(renamed)
    for f in columns.fields:
        assert columns.formatters[f.name]["type"] == ("money" if f.kind == "decimal" else "plaintext")
        assert (f.name in columns.numeric) == f.is_numeric
    assert columns.formatters["status"]["type"] == "html"


def test_the_search_fields_come_from_the_spec():
    from inventory_panel.storage import queries
    from inventory_panel.storage.dialects import base

    assert tuple(f.name for f in search_fields()) == base.SEARCH_FIELDS
    assert max(f.max_length or 0 for f in search_fields()) == queries.MAX_SEARCH


def test_messages_name_the_field_by_its_label():
    assert FIELDS[0].msg_required() == "Item name is required"
    price = next(f for f in FIELDS if f.kind == "decimal")
    with pytest.raises(ValueError, match=f"^{price.label} may have at most 2 decimal places$"):
        price.parse("1.005")
