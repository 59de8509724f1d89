"""The app's Excel downloads: the Inventory view's "Export Excel" (the filtered view) and the Import view's
"Excel template"."""

from __future__ import annotations

import base64
import io
import logging

from python_calamine import CalamineWorkbook

from inventory_panel.fields import FIELD_NAMES
from inventory_panel.importing.template import template_csv
from inventory_panel.ui.importer import ImportView
from inventory_panel.ui.inventory_view import InventoryView
from inventory_panel.ui.model import InventoryModel


def _rows(data: io.BytesIO) -> list[list]:
    return CalamineWorkbook.from_filelike(io.BytesIO(data.read())).get_sheet_by_index(0).to_python()


def test_export_excel_writes_the_filtered_view_typed(inv):
    for name, category, price in (
        ("Anvil", "Metal", "1299.50"),
        ("=cmd|' /C calc'!A0", "Metal", "0"),
        ("Brush", "Paint", "3"),
    ):
        inv.add({"item_name": name, "category": category, "quantity": 2, "unit_price": price})
    view = InventoryView(model=InventoryModel(inventory=inv))
    assert view.export_menu.visible and [v for _label, v in view.export_menu.items] == ["csv", "xlsx"]
    view.model.category = "Metal"
    rows = _rows(view.export_xlsx_button.callback())
    assert rows[0] == list(FIELD_NAMES)
    assert [r[0] for r in rows[1:]] == ["=cmd|' /C calc'!A0", "Anvil"]  # as text, unescaped: a text cell
    assert [r[3] for r in rows[1:]] == [0.0, 1299.5] and [r[2] for r in rows[1:]] == [2.0, 2.0]
    name = view.export_xlsx_button.filename
    assert name.startswith("inventory-") and name.endswith(".xlsx")


def test_the_export_menu_starts_the_chosen_download(inv):
    inv.add({"item_name": "Anvil", "category": "Metal", "quantity": 2, "unit_price": "5"})
    view = InventoryView(model=InventoryModel(inventory=inv))
    view.export_menu.clicked = "xlsx"
    head, data = view.export_xlsx_button.data.split(",", 1)
    assert head.startswith("data:") and _rows(io.BytesIO(base64.b64decode(data)))[1][0] == "Anvil"
    assert view.export_button.data is None  # the CSV download was not started
    view.export_menu.clicked = "csv"
    assert base64.b64decode(view.export_button.data.split(",", 1)[1]).decode().startswith("item_name,")


def test_filedownload_still_has_no_public_way_to_start_a_download():
    """When this fails, Panel can start a FileDownload from Python: the Export menu can use that instead of
    ``_clicks`` (docs/workarounds.md)."""
    import panel as pn

    public = {name for name in dir(pn.widgets.FileDownload) if not name.startswith("_")}
    assert not public & {"click", "trigger", "download", "transfer", "start"}
    assert "_clicks" in pn.widgets.FileDownload.param


def test_export_excel_failing_is_reported(inv, monkeypatch, caplog):
    view = InventoryView(model=InventoryModel(inventory=inv))
    monkeypatch.setattr(inv, "export_xlsx", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with caplog.at_level(logging.INFO):
        assert view.export_xlsx_button.callback() is None
    assert "Exporting the items failed" in caplog.text


def test_import_view_offers_the_excel_template(inv):
    view = ImportView(model=InventoryModel(inventory=inv))
    assert view.template_xlsx in view._header.objects and view.template_xlsx.label == "Excel template"
    assert view.template_xlsx.filename == "inventory_template.xlsx"
    rows = _rows(view.template_xlsx.callback())
    assert rows[0] == template_csv().splitlines()[0].split(",") and len(rows) == 4
