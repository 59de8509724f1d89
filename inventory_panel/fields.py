"""The one specification of an inventory item's fields.

Everything that knows about item fields derives from ``FIELDS``: the table definition (storage), CSV validation
and the template (importing), the search, and how each field is shown (``Display``: the items table's columns, the
item form's rows and inputs, the Low stock view). Parsing of a single value lives here too, so that a form, the
Python API and the CSV importer give a person the same message (worded with the field's label) for the same mistake.

A new field needs one entry here: it is stored, imported, exported, shown in the table and in the form (after the
placed ones) unless its ``Display`` hides it from a view, with the reason.

Over 400 lines on purpose: it is the one specification of the fields (the point of this module); splitting the
spec from its display or parsing would bring back the places that re-declare fields.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypeVar

Kind = Literal["text", "integer", "decimal"]
# The input of the item form: one line, several lines, or one line with suggestions from the values in use.
Widget = Literal["text", "textarea", "autocomplete"]
# Where the suggestions come from: the session's category or location menu, or the stored values of the field.
Suggestions = Literal["categories", "locations", "values"]
# The views that show fields: the items table, the item form, the Low stock view (and its reorder list).
View = Literal["table", "form", "low_stock"]
VIEWS: tuple[View, ...] = ("table", "form", "low_stock")

MAX_INT = 2_147_483_647  # PostgreSQL INTEGER
_Number = TypeVar("_Number", int, Decimal)
PRICE_PRECISION = 12
PRICE_SCALE = 2
MAX_PRICE = Decimal("9999999999.99")  # NUMERIC(12,2)

# Plain base-10 literals only: "1e3", "1,000", "0x10", "nan" and "inf" are refused by design.
INTEGER_RE = re.compile(r"^[+-]?\d+(\.0*)?$")
DECIMAL_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
# C0 controls but tab and line breaks, DEL, and the C1 controls (U+0080-U+009F): invisible, and some of them (NEL,
# U+0085) break lines in other programs.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Half of a UTF-16 pair on its own (from JSON "\\ud800" or undecodable bytes in a file name or argument): no
# encoding can store it, so a driver would fail on it.
SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
# Zero-width space, non-joiner, joiner, word joiner and the BOM: invisible, so "ZW-1" and "ZW-1" plus one of them
# look the same. Removed from keys (sku) so that such lookalikes meet the unique constraint.
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_NO_ZERO_WIDTH = dict.fromkeys(map(ord, ZERO_WIDTH))


def has_control_chars(text: str) -> bool:
    """True when ``text`` holds a control character other than tab and line breaks (NUL, escape, DEL, C1, …)."""
    return CONTROL_RE.search(text) is not None


def has_surrogates(text: str) -> bool:
    """True when ``text`` holds a lone surrogate (not valid Unicode text: no encoding or database can store it)."""
    return SURROGATE_RE.search(text) is not None


def replace_surrogates(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD, for text shown rather than validated: a file name with
    bytes that are not UTF-8 (Python hands those over as surrogates) is shown as a file manager would."""
    return SURROGATE_RE.sub("\ufffd", text)


def normalize_text(text: str) -> str:
    """NFC: "é" typed as e + combining accent and "é" as one character are stored (and matched) the same."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def normalize_key(text: str) -> str:
    """A key (sku) as stored: NFC, without zero-width characters, trimmed."""
    return normalize_text(text).translate(_NO_ZERO_WIDTH).strip()


@dataclass(frozen=True)
class Display:
    """How a field is shown. Every field is shown in every view unless ``hidden`` names the view, with ``why``."""

    widget: Widget = "text"
    short_label: str = ""  # the table's column title; "" means the label
    width: int | None = None  # the table column's width in pixels; None shares the room left (fit_columns)
    column: int | None = None  # place in the tables, smallest first; None: after the placed ones, in spec order
    form_row: int | None = None  # the item form's row, fields of one row side by side; None: a row of its own, last
    search_order: int | None = None  # place in the search document (storage/dialects); None: not searched
    suggestions: Suggestions | None = None  # for an autocomplete input
    compact: bool = True  # still shown when the table narrows beside the item panel
    hidden: tuple[View, ...] = ()  # views that deliberately leave this field out
    why_hidden: str = ""

    def __post_init__(self) -> None:
        if self.hidden and not self.why_hidden:
            raise ValueError("a field hidden from a view needs the reason (why_hidden)")
        if (self.widget == "autocomplete") != (self.suggestions is not None):
            raise ValueError("an autocomplete input, and only one, needs a suggestions source")


@dataclass(frozen=True)
class Field:
    """One item field: its storage type, rules, the words a person sees, and how it is shown."""

    name: str
    kind: Kind
    label: str
    help: str
    required: bool = False
    max_length: int | None = None
    minimum: int | Decimal | None = None
    maximum: int | Decimal | None = None
    unique: bool = False
    examples: tuple[str, str, str] = ("", "", "")
    display: Display = field(default_factory=Display)

    @property
    def is_numeric(self) -> bool:
        return self.kind in ("integer", "decimal")

    @property
    def short_label(self) -> str:
        """The column title: the short label, else the label."""
        return self.display.short_label or self.label

    def shown_in(self, view: View) -> bool:
        return view not in self.display.hidden

    # Messages are methods so that the vectorised CSV validator and the scalar path word them identically. They name
    # the field by its label, the words the form and the template show ("Unit price", not "unit_price").
    def msg_required(self) -> str:
        return f"{self.label} is required"

    def msg_too_long(self) -> str:
        return f"{self.label} must be at most {self.max_length} characters"

    def msg_not_integer(self) -> str:
        return f"{self.label} must be a whole number such as 5"

    def msg_not_decimal(self) -> str:
        return f"{self.label} must be a number such as 12.50"

    def msg_too_small(self) -> str:
        return f"{self.label} must be {self.minimum} or greater"

    def msg_too_large(self) -> str:
        return f"{self.label} must be at most {self.maximum}"

    def msg_scale(self) -> str:
        return f"{self.label} may have at most {PRICE_SCALE} decimal places"

    def msg_control(self) -> str:
        return f"{self.label} must not contain control characters"

    def msg_invalid(self) -> str:
        return f"{self.label} must be valid text: it contains a broken character (an unpaired surrogate)"

    def parse(self, value: Any) -> Any:
        """Turn a user-supplied value into its stored Python type, or raise ``ValueError`` with a person's message.

        ``None``/empty text means "no value": an error for a required field, ``None`` otherwise.
        """
        if value is None or (isinstance(value, float) and math.isnan(value) and self.kind != "decimal"):
            text = ""
        elif isinstance(value, bool):
            raise ValueError(self.msg_not_integer() if self.kind == "integer" else self.msg_not_decimal())
        else:
            text = str(value).strip() if not isinstance(value, float) else repr(value)
        if self.kind == "text" and text and self.unique:
            text = normalize_key(text)  # before the emptiness check: a sku of zero-width characters is no sku
        if text == "":
            if self.required:
                raise ValueError(self.msg_required())
            return None
        if self.kind == "text":
            return self._parse_text(text)
        if self.kind == "integer":
            return self._parse_integer(value, text)
        return self._parse_decimal(value, text)

    def _parse_text(self, text: str) -> str:
        # Same order as importing.validation: broken character, control character, then length (of the NFC text).
        if has_surrogates(text):
            raise ValueError(self.msg_invalid())
        if has_control_chars(text):
            raise ValueError(self.msg_control())
        text = normalize_text(text)
        if self.max_length is not None and len(text) > self.max_length:
            raise ValueError(self.msg_too_long())
        return text

    def _parse_integer(self, value: Any, text: str) -> int:
        if isinstance(value, int):
            number = value
        elif isinstance(value, float):
            if not math.isfinite(value) or not value.is_integer():
                raise ValueError(self.msg_not_integer())
            number = int(value)
        elif isinstance(value, Decimal):
            if not value.is_finite() or value != value.to_integral_value():
                raise ValueError(self.msg_not_integer())
            number = int(value)
        else:
            if not INTEGER_RE.match(text):
                raise ValueError(self.msg_not_integer())
            number = int(text.split(".", 1)[0])
        return self._check_range(number)

    def _parse_decimal(self, value: Any, text: str) -> Decimal:
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError(self.msg_not_decimal())
            text = repr(value)
        if not isinstance(value, (int, Decimal)) and not DECIMAL_RE.match(text):
            raise ValueError(self.msg_not_decimal())
        try:
            number = Decimal(value) if isinstance(value, (int, Decimal)) else Decimal(text)
        except InvalidOperation:
            raise ValueError(self.msg_not_decimal()) from None
        if not number.is_finite():
            raise ValueError(self.msg_not_decimal())
        self._check_range(number)
        if number != number.quantize(Decimal(1).scaleb(-PRICE_SCALE)):
            raise ValueError(self.msg_scale())
        return number.quantize(Decimal(1).scaleb(-PRICE_SCALE))

    def _check_range(self, number: _Number) -> _Number:
        if self.minimum is not None and number < self.minimum:
            raise ValueError(self.msg_too_small())
        if self.maximum is not None and number > self.maximum:
            raise ValueError(self.msg_too_large())
        return number


FIELDS: tuple[Field, ...] = (
    Field(
        "item_name",
        "text",
        "Item name",
        "What the item is called, as people search for it.",
        required=True,
        max_length=100,
        examples=("Laptop Dell XPS 13", "Ergonomic Office Chair", "Safety Helmet"),
        display=Display(column=10, form_row=1, search_order=1),
    ),
    Field(
        "category",
        "text",
        "Category",
        "A group such as Electronics or Furniture.",
        required=True,
        max_length=50,
        examples=("Electronics", "Furniture", "Safety Equipment"),
        display=Display(widget="autocomplete", suggestions="categories", width=140, column=30, form_row=2),
    ),
    Field(
        "quantity",
        "integer",
        "Quantity",
        "Units in stock now: a whole number, 0 or more.",
        required=True,
        minimum=0,
        maximum=MAX_INT,
        examples=("25", "8", "0"),
        display=Display(short_label="Qty", width=65, column=40, form_row=3),
    ),
    Field(
        "unit_price",
        "decimal",
        "Unit price",
        "Price of one unit, 0 or more, at most 2 decimal places.",
        required=True,
        minimum=Decimal("0"),
        maximum=MAX_PRICE,
        examples=("1299.99", "349.50", "24.00"),
        display=Display(
            width=100, column=50, form_row=3, hidden=("low_stock",), why_hidden="reordering is about units, not money"
        ),
    ),
    Field(
        "description",
        "text",
        "Description",
        "Free text shown with the item.",
        max_length=2000,
        examples=("13-inch laptop, 16 GB RAM", "Adjustable lumbar support", "Hard hat, EN 397"),
        display=Display(
            widget="textarea",
            form_row=6,
            search_order=4,
            hidden=("table", "low_stock"),
            why_hidden="too long for a cell: it is read and edited in the item form",
        ),
    ),
    Field(
        "supplier",
        "text",
        "Supplier",
        "Who you reorder from.",
        max_length=100,
        examples=("Dell Inc.", "Office Furniture Ltd.", "Safety First Inc."),
        display=Display(
            widget="autocomplete", suggestions="values", width=150, column=90, form_row=5, search_order=3, compact=False
        ),
    ),
    Field(
        "location",
        "text",
        "Location",
        "Where the stock is kept.",
        max_length=100,
        examples=("IT Storage Room", "Warehouse A", "Safety Locker"),
        display=Display(
            widget="autocomplete", suggestions="locations", width=140, column=80, form_row=4, compact=False
        ),
    ),
    Field(
        "minimum_stock",
        "integer",
        "Minimum stock",
        "Reorder level: the item is low when quantity is at or below it. Empty means no reorder level.",
        minimum=0,
        maximum=MAX_INT,
        examples=("5", "10", "20"),
        display=Display(short_label="Min stock", width=110, column=60, form_row=4, compact=False),
    ),
    Field(
        "sku",
        "text",
        "SKU",
        "Your stock-keeping unit code; unique when given. Used to match rows in upsert.",
        max_length=64,
        unique=True,
        examples=("LAP-XPS13", "CHR-ERGO-01", "HLM-EN397"),
        display=Display(width=115, column=20, form_row=2, search_order=2, compact=False),
    ),
)

FIELD_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)
REQUIRED_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.required)


# -- how the views lay fields out (each takes the spec, so a test can hand one in with a field more) ------------------


def _placed(key: int | None, position: int) -> tuple[int, int, int]:
    # Placed fields first, by their key; the others after them, in spec order.
    return (0, key, position) if key is not None else (1, 0, position)


def columns_of(view: View, fields: Iterable[Field] = FIELDS) -> tuple[Field, ...]:
    """The fields a view shows, left to right (the form's rows keep this order too)."""
    shown = [(i, f) for i, f in enumerate(fields) if f.shown_in(view)]
    return tuple(f for i, f in sorted(shown, key=lambda pair: _placed(pair[1].display.column, pair[0])))


def column_names(
    view: View, derived: Mapping[str, int] | None = None, fields: Iterable[Field] = FIELDS
) -> tuple[str, ...]:
    """The column names of a table view: its fields (``columns_of``) with a view's ``derived`` columns (not stored
    fields, such as the stock status) placed among them by the same keys as ``Display.column``."""
    placed = [(_placed(f.display.column, i), f.name) for i, f in enumerate(columns_of(view, fields))]
    placed += [((0, key, -1), name) for name, key in (derived or {}).items()]
    return tuple(name for _key, name in sorted(placed))


def form_rows(fields: Iterable[Field] = FIELDS) -> tuple[tuple[Field, ...], ...]:
    """The item form's rows, top to bottom; within a row the fields stand in table order."""
    fields = tuple(fields)
    rows: dict[tuple[int, int, int], list[Field]] = {}
    spec_order = {f.name: i for i, f in enumerate(fields)}
    for f in columns_of("form", fields):
        rows.setdefault(
            _placed(f.display.form_row, spec_order[f.name] if f.display.form_row is None else 0), []
        ).append(f)
    return tuple(tuple(rows[key]) for key in sorted(rows))


def search_fields(fields: Iterable[Field] = FIELDS) -> tuple[Field, ...]:
    """The searched fields, in the order of the search document."""
    return tuple(
        sorted((f for f in fields if f.display.search_order is not None), key=lambda f: f.display.search_order or 0)
    )


def parse_record(values: dict[str, Any], *, partial: bool = False) -> tuple[dict[str, Any], dict[str, str]]:
    """Parse a mapping of field name -> raw value.

    Returns ``(clean, errors)``: the parsed values and a message per bad field. With ``partial`` only the fields
    present are checked (an edit of a few fields); otherwise every field is, and missing ones count as empty.
    Unknown names are reported as errors rather than silently dropped.
    """
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in values:
        if name not in FIELD_BY_NAME:
            errors[name] = f"{name} is not an item field"
    names = [n for n in FIELD_NAMES if n in values] if partial else list(FIELD_NAMES)
    for name in names:
        try:
            clean[name] = FIELD_BY_NAME[name].parse(values.get(name))
        except ValueError as exc:
            errors[name] = str(exc)
    return clean, errors
