"""The import template as .xlsx: the CSV template's cells, typed; required columns marked; a validation hint per
column; and it imports back as it is."""

from __future__ import annotations

import csv
import io
import re
import zipfile

from python_calamine import CalamineWorkbook

from inventory_panel.fields import FIELDS, MAX_INT, REQUIRED_FIELDS
from inventory_panel.importing.template import template_csv, template_xlsx


def _xml(data: bytes, name: str) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(name).decode("utf-8")


def test_xlsx_template_has_the_csv_templates_cells_typed():
    rows = CalamineWorkbook.from_filelike(io.BytesIO(template_xlsx())).get_sheet_by_index(0).to_python()
    expected = list(csv.reader(io.StringIO(template_csv())))
    assert len(rows) == len(expected) == 4
    assert rows[0] == expected[0]
    for got, want in zip(rows[1:], expected[1:], strict=True):
        for field, cell, text in zip(FIELDS, got, want, strict=True):
            if field.is_numeric:
                assert isinstance(cell, float) and cell == float(text), field.name
            else:
                assert cell == text, field.name


def test_xlsx_template_marks_the_required_columns():
    data = template_xlsx()
    sheet = _xml(data, "xl/worksheets/sheet1.xml")
    styles = dict(re.findall(r'<c r="([A-I])1" s="(\d+)"', sheet))
    letters = "ABCDEFGHI"
    required = {styles[letters[i]] for i, f in enumerate(FIELDS) if f.required}
    optional = {styles[letters[i]] for i, f in enumerate(FIELDS) if not f.required}
    assert len(required) == 1 and len(optional) == 1 and required != optional
    xfs = re.findall(r"<xf [^>]*?/?>", _xml(data, "xl/styles.xml").split("<cellXfs")[1])
    fonts = re.findall(r"<font>.*?</font>|<font/>", _xml(data, "xl/styles.xml").split("<fonts")[1].split("</fonts>")[0])
    for index in required | optional:
        font = int(re.search(r'fontId="(\d+)"', xfs[int(index)]).group(1))
        assert "<b/>" in fonts[font]  # both headers bold; the required one also tinted
    comments = _xml(data, "xl/comments1.xml")
    notes = re.findall(r'<comment ref="([A-I])1"[^>]*>(.*?)</comment>', comments, re.S)
    assert len(notes) == len(FIELDS)
    for letter, body in notes:
        field = FIELDS[letters.index(letter)]
        text = "".join(re.findall(r"<t[^>]*>([^<]*)</t>", body))
        assert text.startswith("Required." if field.name in REQUIRED_FIELDS else "Optional."), text
    assert "FDE9C8" in _xml(data, "xl/styles.xml")


def test_xlsx_template_has_a_validation_hint_per_column():
    sheet = _xml(template_xlsx(), "xl/worksheets/sheet1.xml")
    rules = re.findall(r"<dataValidation ([^>]*)>(.*?)</dataValidation>", sheet, re.S)
    assert len(rules) == len(FIELDS)
    by_column = {re.search(r'sqref="([A-I])2:', attrs).group(1): (attrs, body) for attrs, body in rules}
    for index, field in enumerate(FIELDS):
        attrs, body = by_column["ABCDEFGHI"[index]]
        formulas = re.findall(r"<formula\d>([^<]*)</formula\d>", body)
        assert f'prompt="{field.help}"' in attrs.replace("&quot;", '"'), field.name
        assert "errorStyle" not in attrs or 'errorStyle="stop"' in attrs
        if field.kind == "integer":
            assert 'type="whole"' in attrs and formulas == ["0", str(MAX_INT)]
        elif field.kind == "decimal":
            assert 'type="decimal"' in attrs and formulas == ["0", "9999999999.99"]
        else:
            assert 'type="textLength"' in attrs and 'operator="lessThanOrEqual"' in attrs
            assert formulas == [str(field.max_length)]


def test_xlsx_template_imports_back_as_it_is(inv):
    report = inv.import_file(template_xlsx(), dry_run=True)
    assert (report.rows, report.inserted, report.skipped) == (3, 3, 0), report.to_dict()
    assert report.warnings == []
    csv_report = inv.import_csv(template_csv(), dry_run=True)
    assert (csv_report.rows, csv_report.inserted) == (report.rows, report.inserted)
