"""The field spec: parsing rules and messages shared by forms, the API and the importer."""

from decimal import Decimal

import pytest

from inventory_panel.fields import FIELD_BY_NAME, FIELD_NAMES, REQUIRED_FIELDS, parse_record


def test_spec_lists_the_item_fields_in_order():
    assert FIELD_NAMES == (
        "item_name",
        "category",
        "quantity",
        "unit_price",
        "description",
        "supplier",
        "location",
        "minimum_stock",
        "sku",
    )
    assert REQUIRED_FIELDS == ("item_name", "category", "quantity", "unit_price")
    assert all(f.label and f.help for f in FIELD_BY_NAME.values())


@pytest.mark.parametrize("raw, expected", [("5", 5), ("5.0", 5), (" 7 ", 7), ("0", 0), (5, 5), (5.0, 5)])
def test_integers_accepted(raw, expected):
    assert FIELD_BY_NAME["quantity"].parse(raw) == expected


@pytest.mark.parametrize(
    "raw, message",
    [
        ("5.5", "Quantity must be a whole number such as 5"),
        ("1e3", "Quantity must be a whole number such as 5"),
        ("1,000", "Quantity must be a whole number such as 5"),
        ("nan", "Quantity must be a whole number such as 5"),
        ("inf", "Quantity must be a whole number such as 5"),
        (float("nan"), "Quantity is required"),
        (True, "Quantity must be a whole number such as 5"),
        ("", "Quantity is required"),
        (None, "Quantity is required"),
        ("-1", "Quantity must be 0 or greater"),
        ("2147483648", "Quantity must be at most 2147483647"),
    ],
)
def test_integers_refused(raw, message):
    with pytest.raises(ValueError) as exc:
        FIELD_BY_NAME["quantity"].parse(raw)
    assert str(exc.value) == message


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("12", "12.00"),
        ("12.5", "12.50"),
        ("12.50", "12.50"),
        ("0", "0.00"),
        (Decimal("3.1"), "3.10"),
        (7, "7.00"),
        (" .5", "0.50"),
    ],
)
def test_decimals_accepted_exactly(raw, expected):
    value = FIELD_BY_NAME["unit_price"].parse(raw)
    assert isinstance(value, Decimal) and str(value) == expected


@pytest.mark.parametrize(
    "raw, message",
    [
        ("nan", "Unit price must be a number such as 12.50"),
        ("inf", "Unit price must be a number such as 12.50"),
        ("abc", "Unit price must be a number such as 12.50"),
        ("", "Unit price is required"),
        ("-0.01", "Unit price must be 0 or greater"),
        ("1.234", "Unit price may have at most 2 decimal places"),
        ("10000000000", "Unit price must be at most 9999999999.99"),
        (float("inf"), "Unit price must be a number such as 12.50"),
    ],
)
def test_decimals_refused(raw, message):
    with pytest.raises(ValueError) as exc:
        FIELD_BY_NAME["unit_price"].parse(raw)
    assert str(exc.value) == message


def test_text_trimmed_limited_and_free_of_control_characters():
    name = FIELD_BY_NAME["item_name"]
    assert name.parse("  Desk  ") == "Desk"
    with pytest.raises(ValueError, match="at most 100 characters"):
        name.parse("x" * 101)
    with pytest.raises(ValueError, match="control characters"):
        name.parse("a\x00b")
    assert FIELD_BY_NAME["supplier"].parse("   ") is None


def test_minimum_stock_empty_is_none_and_zero_stays_zero():
    field = FIELD_BY_NAME["minimum_stock"]
    assert field.parse("") is None
    assert field.parse("0") == 0


def test_parse_record_reports_every_bad_field_and_unknown_names():
    clean, errors = parse_record(
        {"item_name": "", "category": "A", "quantity": "-2", "unit_price": "x", "colour": "red"}
    )
    assert set(errors) == {"item_name", "quantity", "unit_price", "colour"}
    assert clean["category"] == "A"


def test_parse_record_partial_checks_only_given_fields():
    clean, errors = parse_record({"quantity": "3"}, partial=True)
    assert clean == {"quantity": 3} and errors == {}


@pytest.mark.parametrize("raw", ["a\x7fb", "a\x80b", "a\x85b", "a\x9bb", "a\x9fb"])
def test_del_and_c1_controls_are_refused_like_the_other_control_characters(raw):
    with pytest.raises(ValueError, match="Item name must not contain control characters"):
        FIELD_BY_NAME["item_name"].parse(raw)


def test_text_just_past_the_controls_is_accepted():
    assert FIELD_BY_NAME["item_name"].parse("a\xa0b\u00e9\u00ff") == "a\xa0b\u00e9\u00ff"


@pytest.mark.parametrize("raw", ["a\ud800", "\udcff.csv", "x\udfffy"])
def test_a_lone_surrogate_is_a_field_error_not_an_encoding_error(raw):
    with pytest.raises(ValueError) as exc:
        FIELD_BY_NAME["supplier"].parse(raw)
    assert str(exc.value) == "Supplier must be valid text: it contains a broken character (an unpaired surrogate)"


def test_text_is_stored_nfc_and_its_length_counted_after():
    decomposed = "Cafe\u0301"
    assert FIELD_BY_NAME["item_name"].parse(decomposed) == "Caf\u00e9"
    assert FIELD_BY_NAME["category"].parse("e\u0301" * 50) == "\u00e9" * 50  # 100 code points, 50 characters


@pytest.mark.parametrize(
    "raw", ["ZW-1\u200b", "\u200bZW-1", "ZW\u200c-1", "ZW-\u200d1", "\u2060ZW-1", "ZW-1\ufeff", " ZW-1 \u200b "]
)
def test_zero_width_characters_are_removed_from_skus(raw):
    assert FIELD_BY_NAME["sku"].parse(raw) == "ZW-1"


def test_a_sku_of_zero_width_characters_only_is_no_sku():
    assert FIELD_BY_NAME["sku"].parse("\u200b\u200d") is None


TRICKY_TEXT = [
    "a\x7fb",
    "a\x85b",
    "\x9f",
    "a\ud800",
    "Cafe\u0301",
    "e\u0301" * 50,
    "e\u0301" * 101,
    "ZW-1\u200b",
    "\u200b",
    "\u200b\ufeff",
    " \u2060x ",
    "\u00a3\u00b0",
    "plain",
]


@pytest.mark.parametrize("name", ["item_name", "category", "description", "sku"])
def test_the_csv_importer_applies_the_same_text_rules_as_the_forms(name):
    """``importing.validation`` checks whole columns at once; it must store and refuse exactly what parse does."""
    from inventory_panel.importing.validation import OK, check_column, message

    field = FIELD_BY_NAME[name]
    column = check_column(field, TRICKY_TEXT)
    for i, raw in enumerate(TRICKY_TEXT):
        try:
            expected = ("ok", field.parse(raw))
        except ValueError as exc:
            expected = ("error", str(exc))
        code = int(column.codes[i])
        got = ("error", message(field, code)) if code != OK else ("ok", None if column.empty[i] else column.text[i])
        assert got == expected, f"{name} {raw!r}"
