"""Properties of the importer on real SQLite and PostgreSQL, with generated files.

1. For any set of rows, the valid rows are imported exactly (as ``Field.parse`` reads each cell) and every
   invalid cell is reported once, with ``Field.parse``'s message, at the row a spreadsheet shows.
2. ``export_csv`` followed by ``import_csv`` of the export reproduces the items.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import inventory_panel as ip
from inventory_panel.fields import FIELD_BY_NAME, FIELD_NAMES, MAX_INT
from tests.support.module_db import BACKENDS, module_admin

# After a "'", the characters the import takes for export's escape (importing.validation.ESCAPED_STARTS).
ESCAPED_STARTS = ("=", "+", "-", "@", "'", "\t", "\r")


@pytest.fixture(scope="module", params=BACKENDS)
def shared_inv(request, tmp_path_factory) -> Iterator[ip.Inventory]:
    """One inventory per backend for the whole module; each example empties it first."""
    yield from module_admin(request, tmp_path_factory, "props", "admin@example.com")


def emptied(inv: ip.Inventory) -> ip.Inventory:
    with inv.db.engine.begin() as conn:
        conn.execute(inv.t.items.delete())
    return inv


def stored(inv: ip.Inventory) -> list[dict]:
    rows = inv.query(sort_by="id", limit=10_000).rows[list(FIELD_NAMES)].to_dict("records")
    return [{k: (None if v is None or v != v else v) for k, v in row.items()} for row in rows]


def not_an_escaped_formula(text: str) -> bool:
    # A cell that starts with "'" and one of ESCAPED_STARTS is read as export's escape ("'=x" is "=x"), unlike
    # Field.parse; property 1 compares with Field.parse, so such cells are left out (docs/security.md, CSV export).
    # Export -> import keeps every stored text (tests/integration/test_export.py).
    stripped = text.strip()
    return not (stripped.startswith("'") and stripped[1:2] in ESCAPED_STARTS)


characters = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
text_cells = st.one_of(
    st.text(characters, max_size=12),
    st.sampled_from(
        [
            "",
            "  ",
            " padded ",
            "=SUM(A1)",
            "-minus",
            "a,b;c\td",
            'say "hi"',
            "two\nlines",
            "\x01x",
            "\\N",
            "back\\slash",
            "\\.",
            "NULL",
        ]
    ),
    st.integers(0, 3).map(lambda n: "x" * (50 + 50 * n + n % 2)),
).filter(not_an_escaped_formula)
integer_cells = st.one_of(
    st.integers(-10, MAX_INT + 10).map(str),
    st.sampled_from(["5.0", " 7 ", "+3", "1e3", "1,000", "5.5", "nan", "inf", "", "abc", "٥", "-0"]),
)
# Prices stay below 100000 here so that quantity x price fits the stats trigger's bigint cents (migration 0002
# overflows past ~9.2e16); the price limits themselves are covered in tests/unit/test_import_validation.py.
decimal_cells = st.one_of(
    st.decimals(min_value=-10, max_value=Decimal("99999.999"), places=3).map(str),
    st.sampled_from(["12", "12.5", "12.50", ".5", "nan", "inf", "-1", "", "abc", "1e3", "0.001", "1,5"]),
)


def cells_for(name: str) -> st.SearchStrategy[str]:
    kind = FIELD_BY_NAME[name].kind
    return integer_cells if kind == "integer" else decimal_cells if kind == "decimal" else text_cells


row_strategy = st.fixed_dictionaries({name: cells_for(name) for name in FIELD_NAMES if name != "sku"})


def expected(rows: list[dict[str, str]]) -> tuple[list[dict], set[tuple[int, str, str]], int]:
    """What ``Field.parse`` makes of the rows: valid items, (row, column, message) errors, non-blank row count."""
    items, errors, counted = [], set(), 0
    for number, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row.values()):
            continue
        counted += 1
        parsed, bad = {}, set()
        for name in FIELD_NAMES:
            try:
                parsed[name] = FIELD_BY_NAME[name].parse(row[name])
            except ValueError as exc:
                bad.add((number, name, str(exc)))
        errors |= bad
        if not bad:
            items.append(parsed)
    return items, errors, counted


def to_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(FIELD_NAMES), lineterminator="\r\n")  # quotes a lone CR too
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


@settings(max_examples=30, deadline=None)
@given(
    rows=st.lists(row_strategy, min_size=1, max_size=12),
    sku_kinds=st.lists(st.sampled_from(["unique", "empty", "too long"]), min_size=12, max_size=12),
)
def test_valid_rows_are_imported_exactly_and_each_invalid_cell_reported_once(shared_inv, rows, sku_kinds):
    inv = emptied(shared_inv)
    for i, row in enumerate(rows):
        row["sku"] = {"unique": f"SKU-{i}", "empty": "", "too long": f"{i}" + "s" * 64}[sku_kinds[i]]
    items, errors, counted = expected(rows)
    if not counted:
        return  # every row blank: the file is refused as having no data rows (tested elsewhere)
    report = inv.import_csv(to_csv(rows))
    listed = list(zip(report.errors["row"].tolist(), report.errors["column"], report.errors["message"], strict=True))
    assert len(listed) == len(set(listed)), "a cell was reported twice"
    assert set(listed) == errors
    assert (report.rows, report.inserted, report.skipped) == (counted, len(items), counted - len(items))
    assert stored(inv) == items


item_text = (
    st.one_of(
        st.text(st.characters(exclude_categories=("Cs", "Cc")) | st.sampled_from("\t\n\r"), min_size=1, max_size=20),
        st.sampled_from(
            ["=SUM(A1)", "-5 units", "+plus", "@home", "a,b", 'quo"te', "multi\nline", "\\N", "C:\\dir", "\\."]
        ),
    )
    .map(str.strip)
    .filter(bool)
    .filter(not_an_escaped_formula)
)


def limited(name: str) -> st.SearchStrategy[str]:
    return item_text.filter(lambda t: len(t) <= FIELD_BY_NAME[name].max_length)


def optional(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | strategy


item_strategy = st.fixed_dictionaries(
    {
        "item_name": limited("item_name"),
        "category": limited("category"),
        "quantity": st.integers(0, MAX_INT),
        "unit_price": st.decimals(min_value=0, max_value=Decimal("99999.99"), places=2),
        "description": optional(limited("description")),
        "supplier": optional(limited("supplier")),
        "location": optional(limited("location")),
        "minimum_stock": optional(st.integers(0, MAX_INT)),
    }
)


@settings(max_examples=15, deadline=None)
@given(items=st.lists(item_strategy, min_size=1, max_size=8), with_sku=st.booleans())
def test_export_then_import_reproduces_the_items(shared_inv, items, with_sku):
    inv = emptied(shared_inv)
    for i, item in enumerate(items):
        inv.add({**item, "sku": f"=SKU-{i}" if with_sku else None})
    before = sorted(stored(inv), key=repr)
    exported = io.StringIO()
    inv.export_csv(exported)
    emptied(inv)
    report = inv.import_csv(exported.getvalue())
    assert (report.inserted, report.skipped) == (len(items), 0)
    assert sorted(stored(inv), key=repr) == before
