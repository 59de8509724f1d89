"""The template a person downloads before an import, from the field spec: as CSV (the header and three example
rows) and as an Excel workbook with the same cells, typed, plus marks and hints that are not cells.

The xlsx template imports back as it is, like the CSV one: its first sheet holds only the header row and the three
example rows. Required columns are marked by a bold, tinted header and a note (an Excel comment, not a cell);
every column has a data-validation rule (whole number >= 0, decimal >= 0 up to NUMERIC(12,2), text up to the
field's length) with the field's help as its input message. A second sheet, "Columns", explains each column.
"""

from __future__ import annotations

import io
import tempfile

from ..exporting import csv_writer
from ..fields import FIELDS, MAX_INT, MAX_PRICE, PRICE_SCALE, Field

EXAMPLE_ROWS = 3
DATA_ROWS = 10_000  # rows below the header that carry the validation hints


def template_csv() -> str:
    """Header (field names in ``FIELDS`` order) plus the three example rows of ``Field.examples``."""
    out = io.StringIO()
    writer = csv_writer.writer(out)  # the examples as they are: fixed text of ours, nothing to escape
    writer.writerow([f.name for f in FIELDS])
    for row in range(EXAMPLE_ROWS):
        writer.writerow([f.examples[row] for f in FIELDS])
    return out.getvalue()


def rule_text(field: Field) -> str:
    """The rule of a column in words (the validation's error message and the "Columns" sheet)."""
    if field.kind == "integer":
        return f"A whole number from {field.minimum} to {field.maximum}."
    if field.kind == "decimal":
        return f"A number from {field.minimum} to {field.maximum}, at most {PRICE_SCALE} decimal places."
    unique = " Unique when given." if field.unique else ""
    return f"Text of at most {field.max_length} characters.{unique}"


def validation(field: Field) -> dict[str, object]:
    """The XlsxWriter data-validation options of a column: the rule, the help as input message."""
    if field.kind == "integer":
        rule: dict[str, object] = {
            "validate": "integer",
            "criteria": "between",
            "minimum": int(field.minimum or 0),
            "maximum": int(field.maximum or MAX_INT),
        }
    elif field.kind == "decimal":
        low, high = field.minimum or 0, field.maximum or MAX_PRICE
        rule = {
            "validate": "decimal",
            "criteria": "between",
            "minimum": int(low) if low == int(low) else float(low),
            "maximum": float(high),
        }  # 9999999999.99 exactly, as a double of 12 significant digits
    else:
        rule = {"validate": "length", "criteria": "<=", "value": int(field.max_length or 32_767)}
    title = f"{field.label}{' (required)' if field.required else ''}"
    return {
        **rule,
        "ignore_blank": True,
        "input_title": title[:32],
        "input_message": field.help[:255],
        "error_title": field.label[:32],
        "error_message": rule_text(field)[:255],
        "error_type": "stop",
    }


def template_xlsx() -> bytes:
    """The template as an ``.xlsx`` workbook (bytes): the CSV template's cells, typed, with marks and hints."""
    from ..exporting.xlsx import HEADER_STYLE, MONEY_FORMAT, close_workbook, column_width, open_workbook

    out = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="inventory-xlsx-") as tmpdir:
        workbook = open_workbook(out, tmpdir, constant_memory=False)  # small, and comments need the whole sheet
        optional = workbook.add_format(HEADER_STYLE)
        required = workbook.add_format({**HEADER_STYLE, "bg_color": "#FDE9C8", "font_color": "#7A3E00"})
        money = workbook.add_format({"num_format": MONEY_FORMAT})
        ws = workbook.add_worksheet("Items")
        ws.freeze_panes(1, 0)
        for col, field in enumerate(FIELDS):
            ws.set_column(col, col, column_width(field))
            ws.write_string(0, col, field.name, required if field.required else optional)
            ws.write_comment(
                0,
                col,
                f"{'Required' if field.required else 'Optional'}. {field.help} {rule_text(field)}",
                {"author": "Lakebase Inventory", "x_scale": 1.6},
            )
            ws.data_validation(1, col, DATA_ROWS, col, validation(field))
            for row in range(EXAMPLE_ROWS):
                value = field.examples[row]
                if not value:
                    continue
                if field.kind == "text":
                    ws.write_string(row + 1, col, value)
                elif field.kind == "decimal":
                    ws.write_number(row + 1, col, float(value), money)
                else:
                    ws.write_number(row + 1, col, int(value))
        notes = workbook.add_worksheet("Columns")
        bold = workbook.add_format({"bold": True})
        for col, (title, width) in enumerate((("column", 16), ("required", 10), ("rule", 60), ("help", 80))):
            notes.set_column(col, col, width)
            notes.write_string(0, col, title, bold)
        for row, field in enumerate(FIELDS, start=1):
            notes.write_string(row, 0, field.name, bold if field.required else None)
            notes.write_string(row, 1, "yes" if field.required else "no")
            notes.write_string(row, 2, rule_text(field))
            notes.write_string(row, 3, field.help)
        close_workbook(workbook)
    return out.getvalue()
