"""The import report (README, Command line JSON, error file) and the template, on a SQLite file (no server)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import inventory_panel as ip
from inventory_panel.fields import FIELDS
from inventory_panel.importing import ImportReport
from inventory_panel.importing.report import MAX_LISTED_ERRORS, ErrorLog
from inventory_panel.importing.template import template_csv
from inventory_panel.settings import load_settings


@pytest.fixture(scope="module")
def inv(tmp_path_factory) -> Iterator[ip.Inventory]:
    """Dry runs only: nothing is written, so one database serves the module."""
    path = tmp_path_factory.mktemp("report") / "inventory.db"
    inventory = ip.connect(f"sqlite:///{path}", user="ana@example.com", role="editor", settings=load_settings({}))
    yield inventory
    inventory.close()


def dry(inv: ip.Inventory, text: str, **kw) -> ImportReport:
    return inv.import_csv(text, dry_run=True, **kw)


def test_to_dict_is_exactly_the_contract_json(inv):
    report = dry(
        inv, "item_name,category,quantity,unit_price,colour\nA,B,1,1,red\nC,D,-1,1,blue\n", file_name="items.csv"
    )
    assert json.loads(json.dumps(report.to_dict())) == {
        "file": "items.csv",
        "rows": 2,
        "inserted": 1,
        "updated": 0,
        "skipped": 1,
        "dry_run": True,
        "atomic": False,
        "errors": [{"row": 3, "column": "quantity", "value": "-1", "message": "Quantity must be 0 or greater"}],
        "warnings": ["Unknown columns ignored: colour"],
    }
    assert list(report.errors.columns) == ["row", "column", "value", "message"]
    assert report.mode == "append" and not report.ok


def test_a_clean_file_is_ok_and_has_an_empty_error_file(inv):
    report = dry(inv, "item_name,category,quantity,unit_price\nA,B,1,1\n")
    assert report.ok and report.errors.empty
    assert report.error_csv() == "item_name,category,quantity,unit_price,error\n"


def test_error_file_keeps_rows_as_read_with_all_their_messages(inv, tmp_path: Path):
    text = (
        "item_name,category,quantity,unit_price,description\n"
        "Good,B,1,1,\n"
        '" padded ",,x,1.001,"multi\nline, with comma"\n'
        "Long,B,1,1,x,extra\n"
    )
    report = dry(inv, text)
    rows = list(csv.reader(io.StringIO(report.error_csv())))
    assert rows == [
        ["item_name", "category", "quantity", "unit_price", "description", "error"],
        [
            " padded ",
            "",
            "x",
            "1.001",
            "multi\nline, with comma",
            "Category is required; Quantity must be a whole number such as 5; Unit price may have at most 2 decimal "
            "places",
        ],
        [
            "Long",
            "B",
            "1",
            "1",
            "x",
            "extra",
            "this row has 6 cells but the header has 5; remove the extra cells, or quote cells that contain the "
            "delimiter",
        ],
    ]
    path = tmp_path / "errors.csv"
    report.write_error_file(path)
    assert path.read_text(encoding="utf-8") == report.error_csv()


def test_rows_are_counted_without_blank_lines(inv):
    report = dry(inv, "item_name,category,quantity,unit_price\n\nA,B,1,1\n,,,\n   \nC,D,1,x\n\n")
    assert (report.rows, report.inserted, report.skipped) == (2, 1, 1)
    assert report.errors["row"].tolist() == [6]


def test_header_only_and_empty_files_are_refused(inv):
    with pytest.raises(ip.ImportRefusedError, match="no data rows"):
        dry(inv, "item_name,category,quantity,unit_price\n")
    with pytest.raises(ip.ImportRefusedError, match="no data rows"):
        dry(inv, "item_name,category,quantity,unit_price\n\n,,,\n")
    with pytest.raises(ip.ImportRefusedError, match="empty"):
        dry(inv, b"")


def test_unknown_mode_is_a_programming_error(inv):
    with pytest.raises(ValueError, match="mode must be one of append, upsert"):
        inv.import_csv("item_name,category,quantity,unit_price\nA,B,1,1\n", mode="merge")


def test_error_listing_stops_at_the_cap_but_counts_stay_exact():
    log = ErrorLog()
    log.extend(
        list(range(MAX_LISTED_ERRORS - 1)),
        ["c"] * (MAX_LISTED_ERRORS - 1),
        ["v"] * (MAX_LISTED_ERRORS - 1),
        ["m"] * (MAX_LISTED_ERRORS - 1),
    )
    log.extend([1, 2, 3], ["c"] * 3, ["v"] * 3, ["m"] * 3)
    assert len(log.frame()) == MAX_LISTED_ERRORS and log.unlisted == 2


def test_template_is_the_field_spec_and_imports_cleanly(inv):
    text = template_csv()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [f.name for f in FIELDS]
    assert rows[1:] == [[f.examples[i] for f in FIELDS] for i in range(3)]
    assert inv.template_csv() == text
    report = dry(inv, text)
    assert (report.rows, report.inserted, report.skipped, report.warnings) == (3, 3, 0, [])
