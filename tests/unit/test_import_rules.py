"""README, CSV rules, rule by rule, each with a tiny CSV, through ``import_csv`` on a SQLite file (no server).

Outcomes are dry runs (nothing written, so one database serves them all); the rules about what is stored import
for real into a fresh database. Modes, transactions and PostgreSQL are in tests/integration/test_import_*.py.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

import inventory_panel as ip
from inventory_panel.importing import ImportReport
from inventory_panel.settings import load_settings

H = "item_name,category,quantity,unit_price"


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Iterator[ip.Inventory]:
    inv = ip.connect(
        f"sqlite:///{tmp_path_factory.mktemp('rules') / 'x.db'}",
        user="ana@example.com",
        role="editor",
        settings=load_settings({}),
    )
    yield inv
    inv.close()


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[ip.Inventory]:
    inv = ip.connect(
        f"sqlite:///{tmp_path / 'x.db'}", user="ana@example.com", role="editor", settings=load_settings({})
    )
    yield inv
    inv.close()


def outcome(report: ImportReport) -> tuple:
    return (
        report.rows,
        report.inserted,
        report.skipped,
        [tuple(e) for e in report.errors[["row", "column", "value", "message"]].values.tolist()],
    )


RULES = {
    "Item name is required, 1-100 characters": (
        f"{H}\n,B,1,1\n{'n' * 100},B,1,1\n{'n' * 101},B,1,1\n",
        (
            3,
            1,
            2,
            [
                (2, "item_name", "", "Item name is required"),
                (4, "item_name", "n" * 101, "Item name must be at most 100 characters"),
            ],
        ),
    ),
    "Category is required, 1-50 characters": (
        f"{H}\nA,,1,1\nA,{'c' * 50},1,1\nA,{'c' * 51},1,1\n",
        (
            3,
            1,
            2,
            [
                (2, "category", "", "Category is required"),
                (4, "category", "c" * 51, "Category must be at most 50 characters"),
            ],
        ),
    ),
    "quantity is an integer >= 0": (
        f"{H}\nA,B,0,1\nA,B,-1,1\nA,B,x,1\n",
        (
            3,
            1,
            2,
            [
                (3, "quantity", "-1", "Quantity must be 0 or greater"),
                (4, "quantity", "x", "Quantity must be a whole number such as 5"),
            ],
        ),
    ),
    "unit_price is a decimal >= 0 that fits NUMERIC(12,2)": (
        f"{H}\nA,B,1,0\nA,B,1,9999999999.99\nA,B,1,10000000000\nA,B,1,1.005\n",
        (
            4,
            2,
            2,
            [
                (4, "unit_price", "10000000000", "Unit price must be at most 9999999999.99"),
                (5, "unit_price", "1.005", "Unit price may have at most 2 decimal places"),
            ],
        ),
    ),
    "description, supplier and location are optional with limits": (
        f"{H},description,supplier,location\nA,B,1,1,,,\nA,B,1,1,{'d' * 2001},{'s' * 101},{'l' * 101}\n",
        (
            2,
            1,
            1,
            [
                (3, "description", "d" * 200 + "…", "Description must be at most 2000 characters"),
                (3, "supplier", "s" * 101, "Supplier must be at most 100 characters"),
                (3, "location", "l" * 101, "Location must be at most 100 characters"),
            ],
        ),
    ),
    "minimum_stock is an optional integer >= 0": (
        f"{H},minimum_stock\nA,B,1,1,\nA,B,1,1,0\nA,B,1,1,-2\n",
        (3, 2, 1, [(4, "minimum_stock", "-2", "Minimum stock must be 0 or greater")]),
    ),
    "sku is optional, at most 64 characters, unique in the file": (
        f"{H},sku\nA,B,1,1,\nA,B,1,1,S\nA,B,1,1,S\nA,B,1,1,{'k' * 65}\n",
        (
            4,
            2,
            2,
            [
                (4, "sku", "S", "sku is repeated in this file (first used on row 3)"),
                (5, "sku", "k" * 65, "SKU must be at most 64 characters"),
            ],
        ),
    ),
    "integers: 5 and 5.0 are 5; 5.5, 1e3, 1,000, nan, inf and empty are rejected": (
        f'{H}\nA,B,5,1\nA,B,5.0,1\nA,B,5.5,1\nA,B,1e3,1\nA,B,"1,000",1\nA,B,nan,1\nA,B,inf,1\nA,B,,1\n',
        (
            8,
            2,
            6,
            [
                (r, "quantity", v, "Quantity must be a whole number such as 5")
                for r, v in ((4, "5.5"), (5, "1e3"), (6, "1,000"), (7, "nan"), (8, "inf"))
            ]
            + [(9, "quantity", "", "Quantity is required")],
        ),
    ),
    "decimals: 12, 12.5, 12.50 accepted; nan, inf, negative, empty, abc rejected": (
        f"{H}\nA,B,1,12\nA,B,1,12.5\nA,B,1,12.50\nA,B,1,nan\nA,B,1,inf\nA,B,1,-1\nA,B,1,\nA,B,1,abc\n",
        (
            8,
            3,
            5,
            [
                (5, "unit_price", "nan", "Unit price must be a number such as 12.50"),
                (6, "unit_price", "inf", "Unit price must be a number such as 12.50"),
                (7, "unit_price", "-1", "Unit price must be 0 or greater"),
                (8, "unit_price", "", "Unit price is required"),
                (9, "unit_price", "abc", "Unit price must be a number such as 12.50"),
            ],
        ),
    ),
    "every problem of a row is reported, one error per cell": (
        f"{H}\n,,-1,abc\n",
        (
            1,
            0,
            1,
            [
                (2, "item_name", "", "Item name is required"),
                (2, "category", "", "Category is required"),
                (2, "quantity", "-1", "Quantity must be 0 or greater"),
                (2, "unit_price", "abc", "Unit price must be a number such as 12.50"),
            ],
        ),
    ),
    "cells are trimmed": (f"{H}\n  A  , B ,  3 , 1.50 \n", (1, 1, 0, [])),
    "blank lines are skipped and not counted, but keep spreadsheet row numbers": (
        f"{H}\n\nA,B,1,1\n   \n,,,\nA,B,x,1\n\n",
        (2, 1, 1, [(6, "quantity", "x", "Quantity must be a whole number such as 5")]),
    ),
    "a row with more fields than the header is rejected": (
        f"{H}\nA,B,1,1\nA,B,1,1,extra\n",
        (
            2,
            1,
            1,
            [
                (
                    3,
                    "",
                    "extra",
                    "this row has 5 cells but the header has 4; remove the extra cells, or quote "
                    "cells that contain the delimiter",
                )
            ],
        ),
    ),
    "a short row reports its missing required cells": (
        f"{H}\nA,B\n",
        (1, 0, 1, [(2, "quantity", "", "Quantity is required"), (2, "unit_price", "", "Unit price is required")]),
    ),
    "semicolon files are detected": (
        "item_name;category;quantity;unit_price\nA;B;1;1,5\nC;D;2;3\n",
        (2, 1, 1, [(2, "unit_price", "1,5", "Unit price must be a number such as 12.50")]),
    ),
    "tab files are detected": ("item_name\tcategory\tquantity\tunit_price\nA\tB\t1\t1\n", (1, 1, 0, [])),
    "quoted fields may hold delimiters and newlines": (
        f'{H},description\n"A, the first",B,1,1,"line one\nline two, with comma"\n',
        (1, 1, 0, []),
    ),
    "headers match after trimming, lower-casing, spaces and hyphens to underscores": (
        " Item Name ,CATEGORY,Quantity,Unit-Price\nA,B,1,1\n",
        (1, 1, 0, []),
    ),
}


@pytest.mark.parametrize("rule", list(RULES))
def test_rule(shared, rule: str):
    text, expected = RULES[rule]
    assert outcome(shared.import_csv(text, dry_run=True)) == expected


def test_utf8_with_and_without_bom(shared):
    for data in (f"{H}\nCafé,B,1,1\n".encode(), codecs.BOM_UTF8 + f"{H}\nCafé,B,1,1\n".encode()):
        report = shared.import_csv(data, dry_run=True)
        assert (report.inserted, report.warnings) == (1, [])


def test_not_utf8_is_read_as_cp1252_with_a_warning(fresh):
    report = fresh.import_csv(f"{H}\nCafé crème,B,1,1\n".encode("cp1252"))
    assert report.inserted == 1 and "Windows-1252" in report.warnings[0]
    assert fresh.query().rows["item_name"].tolist() == ["Café crème"]


@pytest.mark.parametrize(
    "text, words",
    [
        ("item_name,category\nA,B\n", "Missing required columns: quantity, unit_price"),
        (f"{H},Item Name\nA,B,1,1,A\n", "item_name appears twice"),
    ],
)
def test_missing_or_duplicated_columns_refuse_the_file(shared, text: str, words: str):
    with pytest.raises(ip.ImportRefusedError, match=words):
        shared.import_csv(text, dry_run=True)


def test_unknown_columns_are_a_warning(shared):
    assert shared.import_csv(f"{H},colour\nA,B,1,1,red\n", dry_run=True).warnings == ["Unknown columns ignored: colour"]


def test_upload_size_is_limited_only_when_asked(shared):
    data = f"{H}\n" + "A,B,1,1\n" * 5000
    with pytest.raises(ip.ImportRefusedError, match="limited to"):
        shared.import_csv(data, dry_run=True, max_bytes=10_000)
    assert shared.import_csv(data, dry_run=True).inserted == 5000


def test_upsert_needs_sku_and_append_only_adds(shared):
    report = shared.import_csv(f"{H},sku\nA,B,1,1,\nA,B,1,1,S\n", mode="upsert", dry_run=True)
    assert outcome(report)[3] == [(2, "sku", "", "SKU is required in upsert mode (rows are matched to items by SKU)")]


def test_what_is_stored_empty_minimum_is_none_zero_stays_zero_prices_exact(fresh):
    fresh.import_csv(f"{H},minimum_stock,supplier\n A ,B,5.0,12.5,, \nC,D,0,0,0,Acme\n")
    rows = fresh.query(sort_by="item_name").rows
    assert rows["item_name"].tolist() == ["A", "C"]
    assert rows["quantity"].tolist() == [5, 0]
    assert rows["unit_price"].tolist() == [Decimal("12.50"), Decimal("0.00")]
    assert [None if v != v else v for v in rows["minimum_stock"].tolist()] == [None, 0]
    assert [None if v != v else v for v in rows["supplier"].tolist()] == [None, "Acme"]
