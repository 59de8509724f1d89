"""Column-wise validation of CSV chunks against the field spec (README, CSV rules).

Each field's cells are checked all at once: lengths and emptiness through C-level ``map``, numbers through numpy
string ufuncs (``np.strings``), so no Python code runs per row on the hot path. The rules, their order and the
messages are those of ``Field.parse`` (the forms use it): the same mistake gets the same words everywhere, and
``tests/unit/test_import_validation.py`` proves the two agree on tricky values.

Numbers follow ``fields.INTEGER_RE`` / ``fields.DECIMAL_RE``: an optional sign, Unicode decimal digits (``\\d``),
for integers an optional ``.`` followed only by zeros, for decimals an optional fraction. Non-ASCII digits are
translated to ASCII first (only in columns that contain any), then sign, whole part and fraction are split and
range-checked exactly in integer arithmetic (money in cents), never through floats.

Over 400 lines because every field kind's column-wise rule sits beside the others, in the order ``Field.parse``
applies them: split, the two would drift apart unseen.
"""

from __future__ import annotations

import operator
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import repeat
from operator import itemgetter
from typing import Any

import numpy as np
from numpy.dtypes import StringDType

from ..fields import (
    FIELD_BY_NAME,
    ZERO_WIDTH,
    Field,
    has_control_chars,
    has_surrogates,
    normalize_key,
    normalize_text,
)
from ..money import money_to_cents
from .reading import Chunk, Header, cell_count, is_blank

SD = StringDType()
DOT = np.array(".", dtype=SD)
ZERO = np.array("0", dtype=SD)

OK, REQUIRED, CONTROL, TOO_LONG, NOT_INTEGER, NOT_DECIMAL, TOO_SMALL, TOO_LARGE, SCALE, INVALID = range(10)
CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
C1_LEAD = 0xC2  # first byte of U+0080-U+00BF in UTF-8; a C1 control (U+0080-U+009F) continues with 0x80-0x9F
# Export prefixes text a spreadsheet would run as a formula, and text that starts with "'" itself, with "'"
# (inventory.escape_formula); import removes one "'" before exactly those starts, so that export -> import gives
# back the same items, "'=1+1" included (docs/security.md, CSV export). A tab or carriage return only starts a
# cell the error file escaped; what follows is trimmed as the original cell was.
ESCAPED_STARTS = ("=", "+", "-", "@", "'", "\t", "\r")
MAX_SHOWN_VALUE = 200
HUGE_DIGITS = 15  # whole-number digits beyond which a value is out of every range here (and int64 math stays safe)


def message(f: Field, code: int) -> str:
    """The person's message for ``code`` on field ``f`` — always one of ``Field.msg_*``."""
    return {
        REQUIRED: f.msg_required,
        CONTROL: f.msg_control,
        TOO_LONG: f.msg_too_long,
        NOT_INTEGER: f.msg_not_integer,
        NOT_DECIMAL: f.msg_not_decimal,
        TOO_SMALL: f.msg_too_small,
        TOO_LARGE: f.msg_too_large,
        SCALE: f.msg_scale,
        INVALID: f.msg_invalid,
    }[code]()


def shown(value: str) -> str:
    """A cell as shown in the errors table: long values are cut so a report stays readable."""
    return value if len(value) <= MAX_SHOWN_VALUE else value[:MAX_SHOWN_VALUE] + "…"


@dataclass
class Column:
    """One field's cells, checked. ``numbers`` holds the integer (or, for money, the cents) of each valid cell."""

    field: Field
    text: list[str]
    empty: np.ndarray
    codes: np.ndarray
    numbers: np.ndarray | None = None

    def values(self, index: np.ndarray | None = None) -> list[object]:
        """Storage values of the rows at ``index`` (all rows when None): text, int or cents; None when empty."""
        data = np.array(self.text, dtype=object) if self.numbers is None else self.numbers.astype(object)
        data[self.empty] = None
        return (data if index is None else data[index]).tolist()


def _ascii_digits(values: list[str]) -> list[str]:
    """``values`` with every Unicode decimal digit ("٥", "５") replaced by its ASCII digit, as ``int()`` reads it."""
    if "".join(values).isascii():
        return values
    table = {ord(c): str(unicodedata.decimal(c)) for c in set("".join(values)) if not c.isascii() and c.isdecimal()}
    return list(map(str.translate, values, repeat(table))) if table else values


def _split_number(arr: np.ndarray) -> tuple[np.ndarray, ...]:
    """Minus sign, whole part, dot and fraction of every cell, as numpy arrays."""
    negative = np.strings.startswith(arr, "-")
    signed = negative | np.strings.startswith(arr, "+")
    body = np.where(signed, np.strings.slice(arr, 1, None), arr)
    whole, dot, fraction = np.strings.partition(body, DOT)
    return negative, whole, np.strings.str_len(dot) > 0, fraction


def _to_int(digits: np.ndarray, select: np.ndarray) -> np.ndarray:
    out = np.zeros(len(digits), dtype=np.int64)
    if select.any():
        chosen = digits[select]
        out[select] = np.where(np.strings.str_len(chosen) == 0, ZERO, chosen).astype(np.int64)
    return out


def _has_c1(encoded: bytes) -> bool:
    """Whether UTF-8 ``encoded`` holds a C1 control: a lead byte C1_LEAD followed by 0x80-0x9F. Vectorised, because
    the lead byte alone is common ("£", "°", a no-break space) and a regex over the column is 5x slower."""
    if C1_LEAD.to_bytes() not in encoded:
        return False
    data = np.frombuffer(encoded, dtype=np.uint8)
    lead = np.flatnonzero(data[:-1] == C1_LEAD)
    return bool((data[lead + 1] < 0xA0).any())


def _check_text(f: Field, text: list[str], empty: np.ndarray, joined: str) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Codes, cells as stored (normalised as ``Field.parse`` does) and empty cells of a text column.

    ``joined`` is the column's cells joined by newlines (allowed inside cells, so it adds no finding).
    """
    none = np.zeros(len(text), dtype=bool)
    control = too_long = invalid = none
    # Whole-column screens first; per-cell work only for a column that has the problem somewhere.
    try:
        encoded = joined.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: only a caller's str can hold one, never a decoded file
        encoded = joined.encode("utf-8", "surrogatepass")
        invalid = np.fromiter(map(has_surrogates, text), dtype=bool, count=len(text))
    # UTF-8 keeps C0 controls and DEL as themselves; C1 controls are two bytes, found by _has_c1.
    if len(encoded.translate(None, CONTROL_BYTES)) != len(encoded) or _has_c1(encoded):
        control = np.fromiter(map(has_control_chars, text), dtype=bool, count=len(text))
    if f.unique and any(z in joined for z in ZERO_WIDTH):
        text = list(map(normalize_key, text))
        empty = empties(text)
    elif not joined.isascii() and not unicodedata.is_normalized("NFC", joined):
        text = list(map(normalize_text, text))
    if f.max_length is not None and max(map(len, text), default=0) > f.max_length:
        too_long = lengths_of(text) > f.max_length
    codes = np.select([empty & f.required, invalid, control, too_long], [REQUIRED, INVALID, CONTROL, TOO_LONG], OK)
    return codes.astype(np.int8), text, empty


def _check_integer(f: Field, text: list[str], empty: np.ndarray) -> tuple[np.ndarray, ...]:
    arr = np.array(_ascii_digits(text), dtype=SD)
    if len(arr) and np.strings.str_len(arr).max() <= HUGE_DIGITS and np.strings.isdecimal(arr).all():
        # The usual column: plain digits only, so the general split below is not needed.
        negative = huge = np.zeros(len(arr), dtype=bool)
        syntax = ~negative
        number = arr.astype(np.int64)
    else:
        negative, whole, _dot, fraction = _split_number(arr)
        syntax = np.strings.isdecimal(whole) & (np.strings.str_len(np.strings.lstrip(fraction, "0")) == 0)
        digits = np.strings.lstrip(whole, "0")
        huge = np.strings.str_len(digits) > HUGE_DIGITS
        number = _to_int(digits, syntax & ~huge)
    signed = np.where(negative, -number, number)
    too_small = np.zeros(len(text), dtype=bool)
    too_large = np.zeros(len(text), dtype=bool)
    if f.minimum is not None:
        too_small = syntax & ((huge & negative) | (~huge & (signed < f.minimum)))
    if f.maximum is not None:
        too_large = syntax & ((huge & ~negative) | (~huge & (signed > f.maximum)))
    codes = np.select(
        [empty & f.required, empty, ~syntax, too_small, too_large],
        [REQUIRED, OK, NOT_INTEGER, TOO_SMALL, TOO_LARGE],
        OK,
    ).astype(np.int8)
    return codes, signed


def _check_decimal(f: Field, text: list[str], empty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    negative, whole, dot, fraction = _split_number(np.array(_ascii_digits(text), dtype=SD))
    whole_len = np.strings.str_len(whole)
    fraction_len = np.strings.str_len(fraction)
    fraction_ok = (fraction_len == 0) | np.strings.isdecimal(fraction)
    syntax = (np.strings.isdecimal(whole) & fraction_ok) | ((whole_len == 0) & dot & np.strings.isdecimal(fraction))
    digits = np.strings.lstrip(whole, "0")
    huge = np.strings.str_len(digits) > HUGE_DIGITS
    usable = syntax & ~huge
    first_two = np.strings.ljust(np.strings.slice(fraction, 0, 2), 2, ZERO)
    cents = _to_int(digits, usable) * 100 + _to_int(first_two, usable)
    # Digits past the cents: they make the value a little larger in magnitude, or break the 2-decimal rule.
    rest = np.strings.str_len(np.strings.lstrip(np.strings.slice(fraction, 2, None), "0")) > 0
    signed = np.where(negative, -cents, cents)
    too_small = np.zeros(len(text), dtype=bool)
    too_large = np.zeros(len(text), dtype=bool)
    if f.minimum is not None:
        low = money_to_cents(Decimal(f.minimum))
        too_small = syntax & ((huge & negative) | (~huge & ((signed < low) | ((signed == low) & negative & rest))))
    if f.maximum is not None:
        high = money_to_cents(Decimal(f.maximum))
        too_large = syntax & ((huge & ~negative) | (~huge & ((signed > high) | ((signed == high) & ~negative & rest))))
    codes = np.select(
        [empty & f.required, empty, ~syntax, too_small, too_large, rest],
        [REQUIRED, OK, NOT_DECIMAL, TOO_SMALL, TOO_LARGE, SCALE],
        OK,
    ).astype(np.int8)
    return codes, signed


def lengths_of(text: list[str]) -> np.ndarray:
    """Character counts of ``text`` (as ``len`` counts them, like the field rules)."""
    return np.fromiter(map(len, text), dtype=np.int64, count=len(text))


def empties(text: list[str]) -> np.ndarray:
    """Which trimmed cells are empty; one C-level scan when none is, the usual case."""
    if "" not in text:
        return np.zeros(len(text), dtype=bool)
    return np.fromiter(map(operator.not_, text), dtype=bool, count=len(text))


def check_column(
    f: Field, cells: list[str], *, stripped: bool = False, empty: np.ndarray | None = None, joined: str | None = None
) -> Column:
    """Check every cell of field ``f`` at once.

    ``stripped`` says the cells are trimmed already; ``empty`` and (for text) ``joined`` pass what the caller
    computed already: the empty cells and the cells joined by newlines.
    """
    text = cells if stripped else list(map(str.strip, cells))
    empty = empties(text) if empty is None else empty
    if f.kind == "text":
        codes, text, empty = _check_text(f, text, empty, "\n".join(text) if joined is None else joined)
        return Column(f, text, empty, codes)
    if f.kind == "integer":
        codes, numbers = _check_integer(f, text, empty)
    else:
        codes, numbers = _check_decimal(f, text, empty)
    return Column(f, text, empty, codes, numbers)


@dataclass
class CheckedChunk:
    """The non-blank rows of a chunk, checked. Index ``i`` is the ``i``-th non-blank record of the chunk."""

    header: Header
    rows: np.ndarray
    records: list[list[str]]
    columns: dict[str, Column]
    too_many: np.ndarray
    rejected: np.ndarray
    extra: list[tuple[int, int, str, str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def reject(self, index: np.ndarray, column: str, text: list[str], why: str) -> None:
        """Add one whole-file or database finding (duplicate sku, …) to rows ``index``."""
        position = self.header.positions.get(column, -1)
        self.extra += [(int(i), position, column, shown(t), why) for i, t in zip(index.tolist(), text, strict=True)]
        self.rejected[index] = True

    def entries(self) -> list[tuple[int, int, str, str, str]]:
        """Every problem as (index, column position, column, value, message), in reading order."""
        found = list(self.extra)
        width = self.header.width
        for i in np.flatnonzero(self.too_many).tolist():
            cells = self.records[i]
            count = cell_count(cells)
            cut = count > len(cells)  # a WideRecord: only its first extra cells were kept while reading
            found.append(
                (
                    i,
                    -1,
                    "",
                    shown(",".join(cells[width:]) + ("…" if cut else "")),
                    f"this row has {count} cells but the header has {width}; remove the extra cells, "
                    "or quote cells that contain the delimiter"
                    + (f" (the error file keeps its first {len(cells) - width} extra cells)" if cut else ""),
                )
            )
        for name, column in self.columns.items():
            position = self.header.positions[name]
            bad = (column.codes != OK) & ~self.too_many
            for code in np.unique(column.codes[bad]).tolist():
                index = np.flatnonzero(bad & (column.codes == code)).tolist()
                why = message(column.field, code)
                found += [(i, position, name, shown(column.text[i]), why) for i in index]
        found.sort(key=lambda e: (e[0], e[1]))
        return found


def take(values: list[Any], index: np.ndarray) -> list[Any]:
    """``values[i] for i in index`` as a list, picked at C speed (``values`` itself when every row is taken)."""
    if len(index) == len(values):  # indexes here are sorted and unique, so this is every row
        return values
    if len(index) < 2:
        return [values[i] for i in index.tolist()]
    return list(itemgetter(*index.tolist())(values))


def unescape_cell(text: str) -> str:
    """Undo ``inventory.escape_formula`` on one trimmed cell."""
    if text[:1] == "'" and text[1:2] in ESCAPED_STARTS:
        return unescape_cell(text[1:].strip()) if text[1:2] in "\t\r" else text[1:]
    return text


def _unescape_formulas(text: list[str], joined: str) -> list[str]:
    """Undo export's formula escape; ``joined`` (the cells joined by newlines) screens the column first."""
    if not joined.startswith("'") and "\n'" not in joined:
        return text
    return list(map(unescape_cell, text))


def check_chunk(chunk: Chunk, header: Header, *, unescape: bool = True) -> CheckedChunk:
    """Trim, drop blank rows, and check every field column of ``chunk`` (rows with too many cells are rejected).

    ``unescape``: undo the export's formula escape (CSV text only, ``TabularSource.formula_escaped``).
    """
    records = chunk.records
    n, width = len(records), header.width
    widths = np.fromiter(map(len, records), dtype=np.intp, count=n)
    fixed = records
    irregular = np.flatnonzero(widths != width).tolist()
    if irregular:
        fixed = list(records)
        for i in irregular:  # only short or long rows, rare: pad or cut them to the header's width
            fixed[i] = records[i][:width] + [""] * (width - len(records[i]))
    columns = list(zip(*fixed, strict=True))
    text = {name: list(map(str.strip, columns[pos])) for name, pos in header.positions.items()}
    empty = {name: empties(cells) for name, cells in text.items()}
    filled = ~np.logical_and.reduce(list(empty.values()))
    for i in np.flatnonzero(~filled).tolist():  # rows empty in every field column: blank unless another cell has text
        filled[i] = not is_blank(records[i])
    rows = chunk.first_row + np.arange(n)
    too_many = widths > width
    if not filled.all():
        keep = np.flatnonzero(filled)
        records, rows, too_many = take(records, keep), rows[keep], too_many[keep]
        text = {name: take(cells, keep) for name, cells in text.items()}
        empty = {name: mask[keep] for name, mask in empty.items()}
    checked = {}
    for name, cells in text.items():
        f = FIELD_BY_NAME[name]
        # Number columns too: the error file escapes a rejected "-1" as "'-1", which must read back as "-1".
        joined = "\n".join(cells)
        unescaped = _unescape_formulas(cells, joined) if unescape else cells
        if f.kind == "text":
            if unescaped is not cells:
                joined = "\n".join(unescaped)
            checked[name] = check_column(f, unescaped, stripped=True, empty=empty[name], joined=joined)
        else:
            checked[name] = check_column(f, unescaped, stripped=True, empty=empty[name])
    rejected = too_many.copy()
    for column in checked.values():
        rejected |= column.codes != OK
    return CheckedChunk(header, rows, records, checked, too_many, rejected)


class FirstRows:
    """The row where each sku of the file was first used (the "repeated in this file" check), in ~24 bytes a sku.

    A ``dict`` of sku -> row costs ~120 bytes a sku: 70 MB for a 40 MB file, 350 MB for 200 MB. Here the skus seen
    live in a few sorted numpy string arrays (short strings are stored inline) with their rows, each run at most
    half the size of the one before, merged as they grow; a chunk is looked up in every run at C speed.
    """

    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []

    def first(self, skus: list[str], rows: np.ndarray) -> np.ndarray:
        """The first row of each of ``skus`` (a chunk's, ``rows`` ascending); remembers the skus new to the file."""
        try:
            keys = np.array(skus, dtype=SD)
        except UnicodeEncodeError:  # a lone surrogate: only a caller's str can hold one, never a decoded file
            keys = np.array(
                [k.encode("utf-8", "surrogatepass").decode("utf-8", "backslashreplace") for k in skus], dtype=SD
            )
        first = np.full(len(keys), -1, dtype=np.int64)
        for run_keys, run_rows in self._runs:
            at = np.minimum(np.searchsorted(run_keys, keys), len(run_keys) - 1)
            hit = run_keys[at] == keys
            first[hit] = run_rows[at[hit]]
        new = np.flatnonzero(first < 0)
        if len(new):
            unique, index, inverse = np.unique(keys[new], return_index=True, return_inverse=True)
            unique_rows = np.asarray(rows, dtype=np.int64)[new][index]  # np.unique gives first occurrences
            first[new] = unique_rows[inverse.reshape(-1)]
            self._add(unique, unique_rows)
        return first

    def _add(self, keys: np.ndarray, rows: np.ndarray) -> None:
        self._runs.append((keys, rows))
        while len(self._runs) > 1 and len(self._runs[-2][0]) <= 2 * len(self._runs[-1][0]):
            newer_keys, newer_rows = self._runs.pop()
            older_keys, older_rows = self._runs.pop()
            # Both runs are sorted and share no sku: insert the newer into the older (no sort, no index array).
            at = np.searchsorted(older_keys, newer_keys)
            self._runs.append((np.insert(older_keys, at, newer_keys), np.insert(older_rows, at, newer_rows)))
