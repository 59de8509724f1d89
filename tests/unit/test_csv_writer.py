"""The one CSV writer (``csv_writer``) and the one description of audited changes (``changes``)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pandas as pd

from inventory_panel.changes import describe_changes, describe_detail, describe_entry
from inventory_panel.exporting import csv_writer


def test_cells_are_exact_text_and_formulas_are_escaped():
    cell = csv_writer.cell
    assert [cell(v) for v in (None, float("nan"), pd.NA, pd.NaT)] == ["", "", "", ""]
    assert [cell(v) for v in ("=1+1", "+1", "-2", "@x", "'quoted", "plain")] == [
        "'=1+1",
        "'+1",
        "'-2",
        "'@x",
        "''quoted",
        "plain",
    ]
    assert cell(Decimal("1.50")) == "1.50" and cell(3) == 3 and cell(np.int64(4)) == 4
    assert cell(2.0) == 2 and cell(2.5) == 2.5  # pandas' integer column with a gap holds floats
    at = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert cell(at) == cell(pd.Timestamp(at)) == "2025-01-02T03:04:05+00:00"


def test_write_rows_counts_and_ends_lines_as_asked():
    out = io.StringIO()
    assert csv_writer.write_rows(out, ["a", "b"], [[1, "=x"], [None, "y"]]) == 2
    assert out.getvalue() == "a,b\n1,'=x\n,y\n"
    out = io.StringIO()
    csv_writer.write_rows(out, ["a"], [["two\rlines"]], line_end=csv_writer.CRLF)
    assert out.getvalue() == 'a\r\n"two\rlines"\r\n'  # RFC 4180 ends: a lone CR is quoted too


def test_an_added_item_reads_without_old_values_and_an_edit_with_them():
    added = json.dumps({"item_name": [None, "Helmet"], "quantity": [None, 3]})
    assert describe_changes(added, "add") == "Item name: Helmet; Quantity: 3"
    assert describe_changes(json.dumps({"location": ["Dock 3", None]}), "update") == "Location: Dock 3 → (empty)"
    assert describe_entry(added, "CSV import of a.csv", "add") == "Item name: Helmet; Quantity: 3 (CSV import of a.csv)"
    assert describe_entry(None, "broken", "delete") == "broken"
    assert describe_detail('{"rows": 3}') == "rows: 3" and describe_detail(None) == ""
    assert describe_changes("not json") == "not json" and len(describe_changes("x" * 50, limit=10)) == 10
