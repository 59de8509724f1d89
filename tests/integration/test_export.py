"""CSV export: filters, formula escaping, streaming to a path or a buffer."""

import csv
import io

from inventory_panel.inventory import escape_formula


def test_export_escapes_cells_spreadsheets_would_run(inv):
    for i, name in enumerate(['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "Plain"]):
        inv.add({"item_name": name, "category": "Tools", "quantity": 1, "unit_price": "1", "sku": f"K{i}"})
    buffer = io.StringIO()
    assert inv.export_csv(buffer) == 5
    names = {row["item_name"] for row in csv.DictReader(io.StringIO(buffer.getvalue()))}
    assert names == {'\'=HYPERLINK("http://x")', "'+1", "'-2+3", "'@SUM(A1)", "Plain"}


def test_escape_formula_covers_tab_and_carriage_return():
    # Stored text is trimmed, so these only reach export from other writers of the table.
    assert [escape_formula(v) for v in ("\tx", "\rx", "x=1", 5)] == ["'\tx", "'\rx", "x=1", 5]


def test_export_applies_filters_and_writes_importable_columns(inv, tmp_path):
    inv.add({"item_name": "Chair", "category": "Furniture", "quantity": 0, "unit_price": "10.50", "minimum_stock": 2})
    inv.add({"item_name": "Desk", "category": "Furniture", "quantity": 9, "unit_price": "99.00"})
    path = tmp_path / "out.csv"
    assert inv.export_csv(path, status="out") == 1
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert rows == [
        {
            "item_name": "Chair",
            "category": "Furniture",
            "quantity": "0",
            "unit_price": "10.50",
            "description": "",
            "supplier": "",
            "location": "",
            "minimum_stock": "2",
            "sku": "",
        }
    ]


# The rule (docs/security.md, CSV export): export prefixes "'" to text starting with = + - @ tab CR *or* "'"; import
# removes one "'" before exactly those, so every stored text comes back unchanged.
ROUND_TRIP = ["'=1+1", "=1+1", "''=1+1", "'plain", "+1", "-2+3", "@SUM(A1)", "Plain", "it's", "'"]


def test_export_then_import_gives_back_every_stored_text_exactly(inv):
    for i, name in enumerate(ROUND_TRIP):
        inv.add(
            {
                "item_name": name,
                "category": "Tools",
                "quantity": 1,
                "unit_price": "1",
                "sku": f"K{i}",
                "description": name,
            }
        )
    buffer = io.StringIO()
    assert inv.export_csv(buffer, sort_by="sku") == len(ROUND_TRIP)
    exported = {row["sku"]: row["item_name"] for row in csv.DictReader(io.StringIO(buffer.getvalue()))}
    assert exported["K0"] == "''=1+1" and exported["K1"] == "'=1+1" and exported["K3"] == "''plain"
    assert exported["K7"] == "Plain" and exported["K8"] == "it's"
    with inv.db.engine.begin() as conn:
        conn.execute(inv.t.items.delete())
    report = inv.import_csv(buffer.getvalue())
    assert (report.inserted, report.skipped) == (len(ROUND_TRIP), 0)
    back = inv.query(sort_by="sku", limit=100).rows
    assert dict(zip(back["sku"], back["item_name"], strict=True)) == {f"K{i}": n for i, n in enumerate(ROUND_TRIP)}
    assert dict(zip(back["sku"], back["description"], strict=True)) == {f"K{i}": n for i, n in enumerate(ROUND_TRIP)}


def test_escape_formula_escapes_a_leading_quote_so_that_import_can_undo_it_exactly():
    from inventory_panel.importing.validation import unescape_cell

    for value in ROUND_TRIP:
        assert unescape_cell(escape_formula(value)) == value
    assert [escape_formula(v) for v in ("'=1", "'x", "x'")] == ["''=1", "''x", "x'"]
