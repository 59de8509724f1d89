"""Hostile input through the service and the CSV importer: refused with a clear message and nothing written, or
stored verbatim (escaping is the renderer's job) — never an unexpected exception, never a partial write.

Includes hypothesis fuzz tests over the CSV reader and the service's inputs (modest example counts, no deadline,
so the suite stays fast and deterministic enough on a loaded machine).
"""

from __future__ import annotations

import csv
import gzip
import io
import uuid
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import inventory_panel as ip
from inventory_panel.errors import (
    ConflictError,
    ImportRefusedError,
    InsufficientStockError,
    InvalidArgumentError,
    NotFoundError,
    ValidationError,
)
from inventory_panel.fields import FIELD_BY_NAME, FIELD_NAMES, has_control_chars
from tests.support.module_db import BACKENDS, module_admin

XSS = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert('pwned')</script>"
HEADER = "item_name,category,quantity,unit_price\n"
FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@pytest.fixture(scope="module", params=BACKENDS)
def shared_inv(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ip.Inventory]:
    """One database per backend for the module (hypothesis runs many examples against it)."""
    yield from module_admin(request, tmp_path_factory, "hostile", "admin@example.com")


def _fingerprint(inv: ip.Inventory) -> tuple[int, int, int, int]:
    """Row counts of items, movements and audit, and the sum of versions: any write changes one of them."""
    with inv.db.engine.connect() as conn:
        return (
            conn.execute(sa.select(sa.func.count()).select_from(inv.t.items)).scalar_one(),
            conn.execute(sa.select(sa.func.count()).select_from(inv.t.movements)).scalar_one(),
            conn.execute(sa.select(sa.func.count()).select_from(inv.t.audit)).scalar_one(),
            int(conn.execute(sa.select(sa.func.coalesce(sa.func.sum(inv.t.items.c.version), 0))).scalar_one()),
        )


def _clear_message(exc: BaseException) -> str:
    text = str(exc)
    assert text.strip() and "Traceback" not in text and len(text) < 2000, text
    return text


# -- service inputs ---------------------------------------------------------------------------------------------------


def test_markup_in_every_text_field_is_stored_and_returned_verbatim(inv):
    values = {
        "item_name": XSS,
        "category": SCRIPT[:50],
        "quantity": 1,
        "unit_price": "1.00",
        "description": f'"><svg onload=alert(1)> {SCRIPT}',
        "supplier": "Tom & Jerry's <b>",
        "location": XSS,
        "sku": "<i>SKU</i>",
    }
    item = inv.add(values)
    stored = inv.get(item["id"])
    assert {k: stored[k] for k in values if k not in ("quantity", "unit_price")} == {
        k: v for k, v in values.items() if k not in ("quantity", "unit_price")
    }
    assert inv.query(search="onerror").rows["item_name"].tolist() == [XSS]
    inv.adjust_stock(item["id"], 1, f"reason {SCRIPT}")
    assert SCRIPT in inv.history(item["id"])["detail"].iloc[0]


@pytest.mark.parametrize("field", ["item_name", "category", "description", "supplier", "location", "sku"])
@pytest.mark.parametrize("bad", ["a\x00b", "a\x1bb", "\x08"])
def test_control_characters_are_refused_in_every_text_field(shared_inv, item_values, field, bad):
    before = _fingerprint(shared_inv)
    with pytest.raises(ValidationError) as exc:
        shared_inv.add({**item_values, field: bad})
    assert exc.value.errors == {field: f"{FIELD_BY_NAME[field].label} must not contain control characters"}
    assert _fingerprint(shared_inv) == before


def test_control_characters_are_refused_in_edits_reasons_and_filters(inv, item_values):
    item = inv.add(item_values)
    before = _fingerprint(inv)
    with pytest.raises(ValidationError, match="control characters"):
        inv.update(item["id"], {"supplier": "Evil\x00Corp"}, version=1)
    with pytest.raises(ValidationError, match="control characters"):
        inv.adjust_stock(item["id"], 1, "delivery\x00")
    for name in ("search", "category", "location"):
        with pytest.raises(ValidationError, match=f"the {name} filter"):
            inv.query(**{name: "x\x00"})
        with pytest.raises(ValidationError):
            inv.export_csv(io.StringIO(), **{name: "x\x00"})
    assert _fingerprint(inv) == before


def test_a_megabyte_of_text_is_refused_and_nothing_is_written(inv, item_values):
    before = _fingerprint(inv)
    with pytest.raises(ValidationError) as exc:
        inv.add({**item_values, "description": "x" * 1_000_000, "item_name": "y" * 1_000_000})
    assert exc.value.errors == {
        "item_name": "Item name must be at most 100 characters",
        "description": "Description must be at most 2000 characters",
    }
    with pytest.raises(ValidationError, match="at most 500"):
        inv.adjust_stock(inv.add(item_values)["id"], 1, "r" * 1_000_000)
    assert _fingerprint(inv)[0] == before[0] + 1


def test_sql_in_user_text_is_just_text(inv, item_values):
    inv.add(item_values)
    for text in ("'; DROP TABLE inventory_items; --", '" OR 1=1 --', "%' OR '1'='1", "_", "\\"):
        assert inv.query(search=text).total == 0
        assert inv.query(category=text).total == 0 and inv.query(location=text).total == 0
    item = inv.add({**item_values, "item_name": "Robert'); DROP TABLE inventory_items;--", "sku": "BOBBY"})
    assert inv.get(item["id"])["item_name"].startswith("Robert')")
    assert inv.query().total == 2


@pytest.mark.parametrize("column", ["item_name; DROP TABLE x", "1", "(SELECT 1)", "id DESC", "password", ""])
def test_sort_columns_come_from_a_whitelist(shared_inv, column):
    with pytest.raises(ValueError, match="cannot sort by"):
        shared_inv.query(sort_by=column)
    with pytest.raises(ValueError, match="cannot sort by"):
        shared_inv.export_csv(io.StringIO(), sort_by=column)


@pytest.mark.parametrize("item_id", [0, -1, 2**63, 10**30, "1", 1.0, None, True])
def test_impossible_item_ids_are_not_found_not_a_driver_error(shared_inv, item_id):
    with pytest.raises(NotFoundError):
        shared_inv.get(item_id)
    with pytest.raises(NotFoundError):
        shared_inv.adjust_stock(item_id, 1, "x")
    with pytest.raises(NotFoundError):
        shared_inv.history(item_id)


def test_adjustments_beyond_the_integer_column_are_refused(inv, item_values):
    item = inv.add({**item_values, "quantity": 2_147_483_000})
    before = _fingerprint(inv)
    with pytest.raises(ValidationError, match="exceed"):
        inv.adjust_stock(item["id"], 1000, "too many")
    with pytest.raises(ValidationError, match="whole number"):
        inv.adjust_stock(item["id"], 10**12, "way too many")
    with pytest.raises(ValidationError, match="whole number"):
        inv.adjust_stock(item["id"], 1.5, "fractional")  # type: ignore[arg-type]
    assert _fingerprint(inv) == before


def test_export_escapes_formulas_in_every_text_column(inv):
    inv.add(
        {
            "item_name": "Plain",
            "category": "=cmd|' /C calc'!A0",
            "quantity": 1,
            "unit_price": "1",
            "description": "+SUM(1)",
            "supplier": "-1+1",
            "location": "@A1",
            "sku": "=1",
        }
    )
    buffer = io.StringIO()
    inv.export_csv(buffer)
    (row,) = csv.DictReader(io.StringIO(buffer.getvalue()))
    assert [row[c] for c in ("category", "description", "supplier", "location", "sku")] == [
        "'=cmd|' /C calc'!A0",
        "'+SUM(1)",
        "'-1+1",
        "'@A1",
        "'=1",
    ]


# -- fuzzing the service ------------------------------------------------------------------------------------------

field_value = st.one_of(
    st.none(),
    st.text(max_size=120),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.sampled_from([XSS, "1e3", "1,000", " 5 ", "nan", "-0", "0.001", "9999999999.99", "\x00"]),
)
record = st.dictionaries(st.sampled_from([*FIELD_NAMES, "id", "version", "bogus"]), field_value, max_size=11)


@FUZZ
@given(values=record)
def test_fuzz_add_either_stores_exactly_or_refuses_cleanly(shared_inv, values):
    before = _fingerprint(shared_inv)
    try:
        item = shared_inv.add(values)
    except (ValidationError, ConflictError) as exc:
        _clear_message(exc)
        assert _fingerprint(shared_inv) == before
        return
    assert _fingerprint(shared_inv)[:3] == (before[0] + 1, before[1], before[2] + 1)
    stored = shared_inv.get(item["id"])
    for name in ("item_name", "category"):
        assert stored[name] == str(values[name]).strip()
    assert isinstance(stored["unit_price"], Decimal) and stored["quantity"] >= 0


@FUZZ
@given(
    changes=record,
    delta=st.integers(min_value=-(2**33), max_value=2**33),
    reason=st.text(max_size=600),
    search=st.text(max_size=60),
)
def test_fuzz_edits_adjustments_and_filters_never_fail_unexpectedly(shared_inv, changes, delta, reason, search):
    item = shared_inv.add({"item_name": "Fuzz target", "category": "Fuzz", "quantity": 100, "unit_price": "1.00"})
    before = _fingerprint(shared_inv)
    try:
        shared_inv.update(item["id"], changes, version=item["version"])
    except (ValidationError, ConflictError) as exc:
        _clear_message(exc)
        assert _fingerprint(shared_inv) == before
    before = _fingerprint(shared_inv)
    try:
        shared_inv.adjust_stock(item["id"], delta, reason)
    except (ValidationError, InsufficientStockError) as exc:
        _clear_message(exc)
        assert _fingerprint(shared_inv) == before
    try:
        page = shared_inv.query(search=search)
    except ValidationError as exc:
        assert has_control_chars(search)  # the field rules' control characters: C0 but tab and line breaks, DEL, C1
        _clear_message(exc)
    else:
        assert page.total >= 0


# -- hostile CSV files --------------------------------------------------------------------------------------------


def _png() -> bytes:
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("items.csv", HEADER + "Desk,Furniture,1,10\n")
    return buffer.getvalue()


HOSTILE_FILES: dict[str, bytes] = {
    "nul bytes": (HEADER + "Desk\x00,Furniture,1,10\nChair,Furniture,2,5\n").encode(),
    "1 MB cell": (HEADER + "Desk,Furniture,1,10\n" + "x" * 1_048_576 + ",Furniture,1,10\n").encode(),
    "10,000 columns": (
        ",".join(["item_name", "category", "quantity", "unit_price"] + [f"c{i}" for i in range(10_000)])
        + "\nDesk,Furniture,1,10\n"
    ).encode(),
    "deeply quoted garbage": ('"' + '""' * 100_000 + '"\n').encode() * 3,
    "an unclosed quote": b'"' * 200_001,
    "png image": _png(),
    "zip archive": _zip(),
    "gzip archive": gzip.compress((HEADER + "Desk,Furniture,1,10\n").encode()),
    "pdf document": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
    "utf-16 without a header we know": "item_name,category\nDesk,Furniture\n".encode("utf-16"),
    "empty file": b"",
}


@pytest.mark.parametrize("case", list(HOSTILE_FILES))
def test_hostile_csv_files_are_refused_with_a_clear_message_and_nothing_written(shared_inv, case):
    shared_inv.add({"item_name": "Existing", "category": "Tools", "quantity": 1, "unit_price": "1.00"})
    before = _fingerprint(shared_inv)
    with pytest.raises(ImportRefusedError) as exc:
        shared_inv.import_csv(HOSTILE_FILES[case], file_name=f"{case}.csv")
    message = _clear_message(exc.value)
    assert "\n" not in message
    assert _fingerprint(shared_inv) == before


def test_garbage_rows_under_a_good_header_are_rejected_one_by_one_and_never_written(inv):
    data = (
        HEADER
        + "Desk,Furniture,1,10\n"
        + '"a""b""c"' * 10
        + ',"",,\n'
        + '"""""""",""",""",1,1\n'
        + '"'
        + '""' * 5000
        + '",x,1,1\n'
    ).encode()
    report = inv.import_csv(data, file_name="garbage.csv")
    # Row 4 is odd but valid: quotes are just text once the CSV quoting is undone, so it is stored verbatim.
    assert (report.rows, report.inserted, report.skipped) == (4, 2, 2)
    assert set(report.errors["row"]) == {3, 5}
    assert all(m.strip() for m in report.errors["message"])
    assert sorted(inv.query().rows["item_name"]) == ['"""', "Desk"]


def test_oversized_upload_is_refused_before_anything_is_written(shared_inv):
    data = (HEADER + "Desk,Furniture,1,10\n" * 70_000).encode()  # 1.3 MB of valid rows
    before = _fingerprint(shared_inv)
    with pytest.raises(ImportRefusedError) as exc:
        shared_inv.import_csv(data, max_bytes=1_048_576, file_name="big.csv")
    assert "1 MB" in _clear_message(exc.value)
    assert _fingerprint(shared_inv) == before


def test_markup_and_formulas_in_a_csv_are_imported_as_plain_text(inv):
    data = (HEADER.strip() + f',supplier\n"{XSS}",Tools,1,10,"=HYPERLINK(""http://evil"")"\n').encode()
    report = inv.import_csv(data, file_name="x.csv")
    assert report.inserted == 1
    stored = inv.query().rows.iloc[0]
    assert stored["item_name"] == XSS and stored["supplier"] == '=HYPERLINK("http://evil")'
    buffer = io.StringIO()
    inv.export_csv(buffer)
    (exported,) = csv.DictReader(io.StringIO(buffer.getvalue()))
    assert exported["supplier"] == '\'=HYPERLINK("http://evil")'


# -- fuzzing the CSV reader ---------------------------------------------------------------------------------------

csv_tokens = st.sampled_from([*"abc,;\t\"'\n\r =+-@<>\x00\\", "é", "\ufeff", "\u2028", "0", "1.5", "-1"])
csv_text = st.lists(csv_tokens, max_size=200).map("".join)
csv_like = st.one_of(
    st.binary(max_size=400),
    csv_text.map(lambda body: (HEADER + body).encode("utf-8")),
    csv_text.map(lambda body: (HEADER.replace(",", ";") + body).encode("cp1252", errors="replace")),
    st.lists(st.lists(st.text(max_size=12), min_size=1, max_size=6), max_size=8).map(
        lambda rows: _csv_bytes([["item_name", "category", "quantity", "unit_price", "sku"], *rows])
    ),
)


def _csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8", errors="replace")


@FUZZ
@given(data=csv_like, atomic=st.booleans(), mode=st.sampled_from(["append", "upsert"]))
def test_fuzz_csv_import_reports_or_refuses_and_writes_exactly_what_it_reports(shared_inv, data, atomic, mode):
    before = _fingerprint(shared_inv)
    try:
        report = shared_inv.import_csv(data, mode=mode, atomic=atomic, file_name="fuzz.csv")
    except ImportRefusedError as exc:
        assert "\n" not in _clear_message(exc)
        assert _fingerprint(shared_inv) == before
        return
    after = _fingerprint(shared_inv)
    assert after[0] - before[0] == report.inserted  # exactly the reported rows were added: no partial batch
    assert report.inserted + report.updated + report.skipped <= report.rows
    if atomic and report.skipped:
        assert after[:2] == before[:2] and report.inserted == report.updated == 0
    for message in report.errors["message"]:
        assert isinstance(message, str) and message.strip()
    rows: list[Any] = report.errors["row"].tolist()
    assert all(isinstance(r, int) and r >= 2 for r in rows)


def test_an_unclosed_quote_refuses_the_file_instead_of_swallowing_later_rows(inv):
    data = (
        'item_name,category,quantity,unit_price\nDesk,Furniture,1,10\n"unterminated,'
        + "x" * 5000
        + "\n"
        + "Chair,Furniture,1,1\n" * 100
    )
    with pytest.raises(ImportRefusedError, match="never closed"):
        inv.import_csv(data.encode())
    assert inv.summary()["items"] == 0


# -- broken text, invisible characters, lookalikes ------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["a\x7fb", "a\x80b", "a\x85b", "a\x9fb"])
def test_del_and_c1_controls_are_refused_in_every_text_field(shared_inv, item_values, bad):
    before = _fingerprint(shared_inv)
    for field in ("item_name", "category", "description", "supplier", "location", "sku"):
        with pytest.raises(ValidationError) as exc:
            shared_inv.add({**item_values, field: bad})
        assert exc.value.errors == {field: f"{FIELD_BY_NAME[field].label} must not contain control characters"}
    data = f"{HEADER.strip()},sku\nDesk{bad},Tools,1,1,S-{uuid.uuid4().hex[:6]}\n".encode()
    report = shared_inv.import_csv(data, file_name="c1.csv")
    assert report.inserted == 0
    assert report.errors["message"].tolist() == ["Item name must not contain control characters"]
    assert _fingerprint(shared_inv)[:2] == before[:2]


def test_lone_surrogates_are_validation_errors_everywhere_not_encoding_errors(inv, item_values):
    item = inv.add(item_values)
    before = _fingerprint(inv)
    with pytest.raises(ValidationError, match="broken character"):
        inv.add({**item_values, "item_name": "Desk\ud800", "sku": None})
    with pytest.raises(ValidationError, match="broken character"):
        inv.update(item["id"], {"supplier": "\udcffSupplier"}, version=item["version"])
    with pytest.raises(ValidationError, match="broken character"):
        inv.adjust_stock(item["id"], 1, "delivery \udcff")
    for name in ("search", "category", "location"):
        with pytest.raises(ValidationError, match=f"the {name} filter"):
            inv.query(**{name: "x\udcff"})
        with pytest.raises(ValidationError, match=f"the {name} filter"):
            inv.export_csv(io.StringIO(), **{name: "\ud800"})
    assert _fingerprint(inv) == before


def test_a_file_name_with_bytes_that_are_not_utf8_is_shown_with_a_replacement_character(inv):
    # Python hands undecodable bytes of a file name over as lone surrogates (os.fsdecode); the name is audited.
    report = inv.import_csv((HEADER + "Desk,Furniture,1,10\n").encode(), file_name="stock\udcff.csv")
    assert report.inserted == 1 and report.file == "stock\ufffd.csv"
    assert "stock\ufffd.csv" in inv.audit_log(action="import").rows["detail"].iloc[0]


def test_lookalike_skus_with_zero_width_characters_collide(inv, item_values):
    inv.add({**item_values, "sku": "ZW-1"})
    before = _fingerprint(inv)
    for lookalike in ("ZW-1\u200b", "\ufeffZW-1", "ZW\u2060-1"):
        with pytest.raises(ConflictError, match="ZW-1"):
            inv.add({**item_values, "sku": lookalike})
    data = (
        f"{HEADER.strip()},sku\nDesk,Tools,1,1,ZW-1\u200d\nChair,Tools,1,1,ZW-2\nStool,Tools,1,1,ZW-2\u200c\n"
    ).encode()
    report = inv.import_csv(data, file_name="lookalikes.csv")
    assert report.inserted == 1 and sorted(report.errors["row"]) == [2, 4]
    assert sorted(inv.query().rows["sku"]) == ["ZW-1", "ZW-2"]
    assert _fingerprint(inv)[0] == before[0] + 1
    # Upsert finds the item by its visible sku.
    assert inv.import_csv(f"{HEADER.strip()},sku\nDesk,Tools,7,1,\u200bZW-1\n".encode(), mode="upsert").updated == 1


def test_text_is_stored_nfc_so_both_spellings_are_one_value_and_both_find_it(inv, item_values):
    item = inv.add({**item_values, "item_name": "Cafe\u0301 table", "category": "Cafe\u0301", "sku": "CAFE\u0301"})
    assert (item["item_name"], item["category"], item["sku"]) == ("Caf\u00e9 table", "Caf\u00e9", "CAF\u00c9")
    with pytest.raises(ConflictError):
        inv.add({**item_values, "sku": "CAF\u00c9"})
    for spelling in ("Cafe\u0301", "Caf\u00e9"):
        assert inv.query(search=spelling).total == 1
    assert inv.distinct_values("category") == ["Caf\u00e9"] and inv.query(category="Caf\u00e9").total == 1
    report = inv.import_csv(f"{HEADER.strip()},sku\nDesk,Cafe\u0301,1,1,D-1\n".encode())
    assert report.inserted == 1 and inv.query(category="Caf\u00e9").total == 2


# -- searches no field can hold -------------------------------------------------------------------------------------


@pytest.mark.parametrize("search", ["x" * 50_000, "x" * 200_000, "%" * 25_001, "_" * 60_000, "\u00e9" * 30_000])
def test_a_search_longer_than_any_field_matches_nothing_instead_of_failing(shared_inv, search):
    shared_inv.add(
        {"item_name": "x" * 100, "category": "Tools", "quantity": 1, "unit_price": "1.00", "description": "x" * 2000}
    )
    assert shared_inv.query(search=search).total == 0
    assert shared_inv.query(search=search, count_limit=1000, sort_by="unit_price").rows.empty
    buffer = io.StringIO()
    assert shared_inv.export_csv(buffer, search=search) == 0
    assert shared_inv.query(search="x" * 2000).total >= 1  # the longest search that can match still does


# -- the Python API's argument types ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda inv, item: inv.add([("item_name", "Desk")]),
        lambda inv, item: inv.add(None),
        lambda inv, item: inv.add("item_name=Desk"),
        lambda inv, item: inv.update(item["id"], None, version=item["version"]),
        lambda inv, item: inv.update(item["id"], [1, 2], version=item["version"]),
        lambda inv, item: inv.update(item["id"], {"quantity": 2}, version="1"),
        lambda inv, item: inv.update(item["id"], {"quantity": 2}, version=None),
        lambda inv, item: inv.delete(item["id"], version=1.0),
        lambda inv, item: inv.query(limit="10x"),
        lambda inv, item: inv.query(limit=None),
        lambda inv, item: inv.query(limit=2.5),
        lambda inv, item: inv.query(limit=0),
        lambda inv, item: inv.query(offset="0"),
        lambda inv, item: inv.query(offset=-1),
        lambda inv, item: inv.query(count_limit="many", search="x"),
        lambda inv, item: inv.query(descending="yes"),
        lambda inv, item: inv.query(after="x"),
        lambda inv, item: inv.query(after=("Desk", "1")),
        lambda inv, item: inv.query(status=3),
        lambda inv, item: inv.query(sort_by=["item_name"]),
    ],
    ids=lambda _: "call",
)
def test_api_arguments_of_the_wrong_type_raise_a_typed_error_naming_them(shared_inv, item_values, call):
    item = shared_inv.add({**item_values, "sku": None})
    before = _fingerprint(shared_inv)
    with pytest.raises(InvalidArgumentError) as exc:
        call(shared_inv, item)
    assert isinstance(exc.value, ValidationError) and isinstance(exc.value, ValueError)  # as documented, as before
    assert len(exc.value.errors) == 1
    _clear_message(exc.value)
    assert _fingerprint(shared_inv) == before


def test_ids_and_versions_taken_from_query_rows_are_accepted(inv, item_values):
    inv.add(item_values)
    rows = inv.query().rows
    item_id, version = rows["id"].iloc[0], rows["version"].iloc[0]
    assert type(item_id).__module__ == "numpy"  # what a DataFrame hands out: numpy integers
    assert inv.get(item_id)["item_name"] == item_values["item_name"]
    assert inv.adjust_stock(item_id, np.int64(3), "delivery")["quantity"] == 15
    assert len(inv.history(item_id)) == 2
    version = inv.query().rows["version"].iloc[0]
    assert inv.update(item_id, {"location": "Shelf 2"}, version=version)["version"] == 3
    page = inv.query(limit=np.int64(1), offset=np.int32(0), descending=np.bool_(True))
    assert inv.query(after=page.last_key).rows.empty
    inv.delete(item_id, version=inv.query().rows["version"].iloc[0])
    assert inv.query().total == 0


# -- blank lines before the header ----------------------------------------------------------------------------------


@pytest.mark.parametrize("blank", [b"\n", b"\r\n", b" ,\t, \n"])
def test_megabytes_of_blank_lines_before_the_header_are_skipped(shared_inv, blank):
    data = blank * (2_100_000 // len(blank)) + (HEADER + "Blank-lines desk,Furniture,1,10\n").encode()
    report = shared_inv.import_csv(data, file_name="blank.csv")
    assert (report.inserted, report.skipped) == (1, 0)
    assert shared_inv.query(search="Blank-lines desk").total >= 1


def test_a_first_line_over_a_megabyte_after_blank_lines_is_still_refused(shared_inv):
    data = b"\n" * 1_500_000 + b"x" * (1 << 20) + b"\n" + HEADER.encode()
    with pytest.raises(ImportRefusedError, match="longer than 1"):
        shared_inv.import_csv(data, file_name="long.csv")
