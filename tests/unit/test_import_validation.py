"""Cell rules (README, CSV rules), checked column-wise, and their agreement with ``Field.parse`` (the forms)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inventory_panel.fields import FIELD_BY_NAME, FIELDS
from inventory_panel.importing.reading import Chunk, parse_header
from inventory_panel.importing.validation import OK, check_chunk, check_column, message
from inventory_panel.storage.dialects.postgres import copy_cells, money_text

INTEGERS = [
    "5",
    "5.0",
    "5.",
    "5.00",
    "+5",
    "-0",
    "+0",
    "0",
    "-5",
    "007",
    " 5 ",
    "\u00a05\u2003",
    "5.5",
    "5.01",
    "1e3",
    "1,000",
    "1_000",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "",
    " ",
    "abc",
    "0x10",
    "٥",
    "５",
    "٥٠",
    "²",
    "−5",
    "+",
    "-",
    ".",
    ".0",
    "0.",
    "5.0.0",
    "5 5",
    "2147483647",
    "2147483648",
    "-2147483648",
    "99999999999999999999",
    "-99999999999999999999",
    "٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠5",
    "00000000000000000000007",
    "5.000000000000000000000",
    "+-5",
    "--5",
    "5-",
    "\t7\n",
]
DECIMALS = [
    "12",
    "12.5",
    "12.50",
    "12.500",
    "12.501",
    "12.",
    ".5",
    "+.5",
    "-.5",
    ".",
    "0",
    "-0",
    "-0.00",
    "0.001",
    "-0.001",
    "+12.5",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "Infinity",
    "-1",
    "-0.01",
    "abc",
    "1e3",
    "1E3",
    "1,5",
    "9999999999.99",
    "9999999999.991",
    "9999999999.990",
    "10000000000",
    "10000000000.00",
    "-10000000000",
    "00000000000000000001.50",
    "99999999999999999999999.5",
    "１２.５",
    "٥.٥٠",
    "",
    " ",
    "1.2.3",
    "$5",
    " 7.25 ",
    "5 .5",
    "0.005",
    "12.5000000000000000000001",
    "+",
    "-",
    "1_0.5",
]
TEXTS = [
    "",
    " ",
    "x",
    "  padded  ",
    "a" * 50,
    "a" * 51,
    "a" * 100,
    "a" * 101,
    "é" * 100,
    "😀" * 101,
    "a\x01b",
    "\x1fa\x1f",
    "a\tb",
    "a\nb\r\nc",
    "\x00",
    "\x7f",
    "a\x0bb",
    "'=SUM(A1)",
    "=1+1",
]


def scalar(field, value: str):
    """What the forms do with ``value``: ("ok", parsed) or ("error", message)."""
    try:
        return "ok", field.parse(value)
    except ValueError as exc:
        return "error", str(exc)


def vectorised(field, values: list[str]):
    column = check_column(field, values)
    out = []
    for i, code in enumerate(column.codes.tolist()):
        if code != OK:
            out.append(("error", message(field, code)))
        elif column.empty[i]:
            out.append(("ok", None))
        elif field.kind == "decimal":
            out.append(("ok", Decimal(int(column.numbers[i])).scaleb(-2)))
        elif field.kind == "integer":
            out.append(("ok", int(column.numbers[i])))
        else:
            out.append(("ok", column.text[i]))
    return out


@pytest.mark.parametrize(
    "field_name, values",
    [
        ("quantity", INTEGERS),
        ("minimum_stock", INTEGERS),
        ("unit_price", DECIMALS),
        ("item_name", TEXTS),
        ("category", TEXTS),
        ("description", TEXTS),
        ("sku", TEXTS),
    ],
)
def test_vectorised_validation_agrees_with_field_parse_on_tricky_values(field_name: str, values: list[str]):
    field = FIELD_BY_NAME[field_name]
    got = vectorised(field, values)
    for value, result in zip(values, got, strict=True):
        assert result == scalar(field, value), f"{field_name} {value!r}"


cells = st.one_of(
    st.text(alphabet=st.sampled_from("0123456789+-.eE ,_٥５\u00a0"), max_size=14),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.text(max_size=120),
)


@settings(max_examples=150, deadline=None)
@given(values=st.lists(cells, min_size=1, max_size=30), field=st.sampled_from(FIELDS))
def test_vectorised_validation_agrees_with_field_parse_on_generated_values(values: list[str], field):
    assert vectorised(field, values) == [scalar(field, v) for v in values]


# -- the contract's examples -----------------------------------------------------------------------------------


def test_integers_accept_5_and_5_point_0_and_refuse_the_rest():
    column = check_column(FIELD_BY_NAME["quantity"], ["5", "5.0", "5.5", "1e3", "1,000", "nan", "inf", "", "-1"])
    assert column.numbers[:2].tolist() == [5, 5]
    f = FIELD_BY_NAME["quantity"]
    assert [message(f, c) if c else None for c in column.codes.tolist()] == [
        None,
        None,
        f.msg_not_integer(),
        f.msg_not_integer(),
        f.msg_not_integer(),
        f.msg_not_integer(),
        f.msg_not_integer(),
        f.msg_required(),
        "Quantity must be 0 or greater",
    ]


def test_decimals_accept_12_12_5_12_50_and_refuse_the_rest():
    f = FIELD_BY_NAME["unit_price"]
    column = check_column(f, ["12", "12.5", "12.50", "nan", "inf", "-1", "", "abc", "1.999"])
    assert column.numbers[:3].tolist() == [1200, 1250, 1250]
    assert [message(f, c) if c else None for c in column.codes.tolist()] == [
        None,
        None,
        None,
        f.msg_not_decimal(),
        f.msg_not_decimal(),
        f.msg_too_small(),
        f.msg_required(),
        f.msg_not_decimal(),
        f.msg_scale(),
    ]


def test_minimum_stock_empty_means_none_and_zero_stays_zero():
    column = check_column(FIELD_BY_NAME["minimum_stock"], ["", "0", " 3 "])
    assert column.values() == [None, 0, 3]


def test_text_limits_follow_the_field_spec():
    checks = {"item_name": 100, "category": 50, "supplier": 100, "location": 100, "sku": 64, "description": 2000}
    for name, limit in checks.items():
        column = check_column(FIELD_BY_NAME[name], ["x" * limit, "x" * (limit + 1)])
        assert column.codes.tolist() == [OK, 3], name


def test_money_and_text_for_postgresql_copy_are_exact():
    price = check_column(FIELD_BY_NAME["unit_price"], ["0.5", "12", "9999999999.99", "", "-0.00"])
    assert money_text(price, np.arange(5)) == ["0.50", "12.00", "9999999999.99", None, "0.00"]
    assert copy_cells(price, np.arange(5))[3] == "\\N"
    text = check_column(FIELD_BY_NAME["description"], ["a\\b\tc", "two\nlines\rend", "", "\\N"])
    assert copy_cells(text, np.arange(4)) == ["a\\\\b\\tc", "two\\nlines\\rend", "\\N", "\\\\N"]


# -- chunks: whole rows ----------------------------------------------------------------------------------------


def checked(header: list[str], rows: list[list[str]], first_row: int = 2):
    return check_chunk(Chunk(rows, first_row), parse_header(header, "append"))


HEADER = ["item_name", "category", "quantity", "unit_price", "sku", "notes"]


def test_every_problem_of_a_row_is_reported_once_per_cell_in_column_order():
    chunk = checked(HEADER, [["", "", "-1", "nan", "x" * 65, "n"], ["A", "B", "1", "1", "S", ""]])
    assert chunk.rejected.tolist() == [True, False]
    assert [(chunk.rows[e[0]], e[2], e[3], e[4]) for e in chunk.entries()] == [
        (2, "item_name", "", "Item name is required"),
        (2, "category", "", "Category is required"),
        (2, "quantity", "-1", "Quantity must be 0 or greater"),
        (2, "unit_price", "nan", "Unit price must be a number such as 12.50"),
        (2, "sku", "x" * 65, "SKU must be at most 64 characters"),
    ]


def test_cells_are_trimmed():
    chunk = checked(HEADER, [["  Drill ", "\tTools", " 3 ", " 9.99 ", " S1 ", ""]])
    assert not chunk.rejected.any()
    assert [chunk.columns[n].values()[0] for n in ("item_name", "category", "quantity", "unit_price", "sku")] == [
        "Drill",
        "Tools",
        3,
        999,
        "S1",
    ]


def test_blank_rows_are_dropped_but_a_row_with_only_an_unknown_cell_is_not_blank():
    chunk = checked(HEADER, [["A", "B", "1", "1", "", ""], [], ["", " ", "", "", "", ""], ["", "", "", "", "", "n"]])
    assert chunk.rows.tolist() == [2, 5]
    assert chunk.rejected.tolist() == [False, True]


def test_a_row_with_more_cells_than_the_header_is_rejected_as_a_whole():
    chunk = checked(HEADER, [["A", "B", "1", "1", "S", "n", "extra", "more"]])
    assert chunk.rejected.tolist() == [True]
    (entry,) = chunk.entries()
    assert entry[2] == "" and entry[3] == "extra,more" and "8 cells but the header has 6" in entry[4]


def test_a_short_row_is_padded_and_reports_its_missing_required_cells():
    chunk = checked(HEADER, [["A", "B"]])
    assert [(e[2], e[4]) for e in chunk.entries()] == [
        ("quantity", "Quantity is required"),
        ("unit_price", "Unit price is required"),
    ]


def test_export_formula_escapes_are_undone_only_before_formula_characters():
    chunk = checked(HEADER, [["'=SUM(A1)", "'-x", "1", "1", "'@S", "n"], ["'quoted'", "'+", "1", "1", "", ""]])
    assert chunk.columns["item_name"].values() == ["=SUM(A1)", "'quoted'"]
    assert chunk.columns["category"].values() == ["-x", "+"]
    assert chunk.columns["sku"].values() == ["@S", None]


def test_long_values_are_shortened_in_the_errors_table():
    chunk = checked(HEADER, [["x" * 5000, "B", "1", "1", "", ""]])
    (entry,) = chunk.entries()
    assert len(entry[3]) == 201 and entry[3].endswith("…")
