"""Words a person reads (issue 15): one plural helper (``inventory_panel.words``) and the sentences built on it —
the import's summary, its problems title and button, the CLI's first line, the header refusal. No database."""

from __future__ import annotations

import pytest

from inventory_panel.cli import import_headline
from inventory_panel.errors import ImportRefusedError
from inventory_panel.importing import ImportReport
from inventory_panel.importing.reading import parse_header
from inventory_panel.ui.import_report import import_button_label, problems_title, summary_sentence
from inventory_panel.words import count_of, listing, plural


def test_one_thing_is_singular_and_every_other_count_plural():
    assert [count_of(n, "row") for n in (0, 1, 2, 1234)] == ["0 rows", "1 row", "2 rows", "1,234 rows"]
    assert count_of(1, "item") == "1 item" and count_of(-1, "unit") == "-1 units"
    assert count_of(2, "entry") == "2 entries" and count_of(2, "box") == "2 boxes" and count_of(2, "day") == "2 days"
    assert count_of(3, "sample item") == "3 sample items" and count_of(2, "person", "people") == "2 people"
    assert (plural(1, "has", "have"), plural(2, "has", "have"), plural(0, "was", "were")) == ("has", "have", "were")


def test_names_are_listed_as_a_sentence_lists_them():
    assert [listing(names) for names in ([], ["a"], ["a", "b"], ["a", "b", "c"])] == ["", "a", "a and b", "a, b and c"]
    assert listing(["x", "y"], "or") == "x or y"


def report(**counts) -> ImportReport:
    return ImportReport(file="import1.csv", **counts)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        (
            {"dry_run": True, "rows": 2, "inserted": 1, "skipped": 1},
            "Ready to add 1 item. 1 row has errors and will be skipped.",
        ),
        (
            {"dry_run": True, "rows": 5, "inserted": 2, "updated": 1, "skipped": 2},
            "Ready to add 2 items and update 1 item. 2 rows have errors and will be skipped.",
        ),
        ({"dry_run": True, "rows": 1, "updated": 1}, "Ready to update 1 item. Every row is valid."),
        (
            {"dry_run": True, "atomic": True, "rows": 2, "skipped": 1},
            "1 row has errors, so with “all or nothing” nothing would be imported. Fix the rows (download the error "
            "file) or turn the option off.",
        ),
        (
            {"rows": 2, "inserted": 1, "skipped": 1},
            "Imported: 1 item added, 0 updated. 1 row was rejected; download the error file to fix and import them.",
        ),
        ({"rows": 3, "inserted": 3}, "Imported: 3 items added, 0 updated."),
        (
            {"atomic": True, "rows": 2, "skipped": 1},
            "Nothing was imported: 1 row had errors and the import was all or nothing. Fix the rows (download the "
            "error file) and import again.",
        ),
    ],
)
def test_the_import_summary_agrees_with_its_counts(counts, expected):
    assert summary_sentence(report(**counts)) == expected


def test_the_problems_title_and_the_import_button_agree_with_their_counts():
    assert problems_title(report(skipped=1)) == "Problems found in 1 row"
    assert problems_title(report(skipped=1200)) == "Problems found in 1,200 rows"
    assert [import_button_label(n) for n in (0, 1, 2)] == ["Nothing to import", "Import 1 row", "Import 2 rows"]


def test_the_cli_says_checked_for_a_dry_run_and_never_imported_when_nothing_was_written():
    assert import_headline(report(dry_run=True, rows=2, inserted=1, skipped=1)) == (
        "Checked import1.csv (dry run, nothing written): 2 rows read; would add 1 item, update 0; 1 row rejected."
    )
    assert import_headline(report(atomic=True, rows=2, skipped=1)) == (
        "Nothing imported from import1.csv: 2 rows read, 1 row rejected, and the import was all or nothing (--atomic)."
    )
    assert import_headline(report(rows=1, inserted=1)) == (
        "Imported import1.csv: 1 row read, 1 item added, 0 updated, 0 rows rejected."
    )


def refusal(header: str, mode: str = "append") -> str:
    with pytest.raises(ImportRefusedError) as raised:
        parse_header(header.split(","), mode)
    return str(raised.value)


def test_a_header_with_the_wrong_names_names_the_missing_and_the_unknown_columns():
    message = refusal("name,qty")
    assert message.startswith(
        "Missing required columns: item_name, category, quantity, unit_price. Not recognised: name, qty."
    )
    assert "rename the columns as the template names them and upload the file again" in message
    one = refusal("item_name,category,quantity,price")
    assert one.startswith("Missing required column: unit_price. Not recognised: price.")


def test_a_first_row_of_data_is_still_told_to_add_a_header():
    assert refusal("Drill,Tools,3,9.99").startswith("No header row found: the first row must name the columns")
    assert refusal("just notes").startswith("No header row found")


def test_an_upsert_without_a_sku_column_says_what_to_do():
    message = refusal("item_name,category,quantity,unit_price", mode="upsert")
    assert "Add a sku column, or import with the append mode." in message


def test_the_item_history_counts_one_older_entry_as_one():
    from datetime import UTC, datetime

    import pandas as pd

    from inventory_panel.ui.history import MAX_ENTRIES, history_html

    entry = {"what": "count", "detail": "recounted", "actor": "ana", "at": datetime(2026, 1, 1, tzinfo=UTC)}
    assert "… and 1 older entry (see the audit log)." in history_html(pd.DataFrame([entry] * (MAX_ENTRIES + 1)))
    assert "… and 2 older entries" in history_html(pd.DataFrame([entry] * (MAX_ENTRIES + 2)))
