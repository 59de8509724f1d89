"""Every role × every operation, through the ``Inventory`` service and through the ``inventory-panel`` CLI.

A permitted operation works; a refused one raises ``PermissionDeniedError`` (CLI: exit 2 and one line), changes
nothing, and leaves a ``denied`` audit row naming the user. Runs on real SQLite and a real PostgreSQL.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

import inventory_panel as ip
from inventory_panel.auth import make_user
from inventory_panel.cli import main as cli_main
from inventory_panel.errors import PermissionDeniedError
from inventory_panel.settings import load_settings
from tests.support.module_db import BACKENDS, module_admin

ROLE_ENV = {"INVENTORY_ADMINS": "boss@example.com", "INVENTORY_EDITORS": "ed@example.com"}
USERS = {"viewer": "vera@example.com", "editor": "ed@example.com", "admin": "boss@example.com"}
CSV = b"item_name,category,quantity,unit_price,sku\nImported bolt,Hardware,5,0.10,\n"


@pytest.fixture(scope="module", params=BACKENDS)
def role_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ip.Inventory]:
    """One database per backend for the whole module; tests act on items of their own."""
    yield from module_admin(request, tmp_path_factory, "roles", "setup@example.com")


def _acting(admin: ip.Inventory, role: str) -> ip.Inventory:
    """The service as a deployed-app user whose role comes from INVENTORY_ADMINS / INVENTORY_EDITORS / default."""
    user = make_user(USERS[role], load_settings(ROLE_ENV), source="databricks")
    assert user.role == role
    return admin.as_user(user)


def _state(admin: ip.Inventory) -> tuple[list[dict[str, Any]], int]:
    """Every item and the number of stock movements: what a refused write must leave untouched."""
    rows = admin.query(sort_by="id", limit=10_000).rows.to_dict("records")
    with admin.db.engine.connect() as conn:
        moves = conn.execute(sa.select(sa.func.count()).select_from(admin.t.movements)).scalar_one()
    return rows, moves


def _new_item(admin: ip.Inventory) -> dict[str, Any]:
    return admin.add(
        {
            "item_name": "Torque wrench",
            "category": "Tools",
            "quantity": 10,
            "unit_price": "45.00",
            "sku": f"TW-{uuid.uuid4().hex[:8]}",
        }
    )


# operation name -> (permission it needs, call(inv, item) -> result, check(admin, item, result) after success)
Operation = tuple[str, Callable[[ip.Inventory, dict], Any], Callable[[ip.Inventory, dict, Any], None]]


def _check_added(admin, _item, result):
    assert admin.get(result["id"])["item_name"] == "Anchor"


def _check_edited(admin, item, _result):
    assert admin.get(item["id"])["unit_price"] == Decimal("50.00")


def _check_adjusted(admin, item, _result):
    assert admin.get(item["id"])["quantity"] == 13


def _check_deleted(admin, item, _result):
    with pytest.raises(ip.NotFoundError):
        admin.get(item["id"])


def _check_imported(admin, _item, result):
    assert result.inserted == 1 and admin.query(search="Imported bolt").total >= 1


def _check_exported(_admin, item, result):
    assert item["sku"] in result


def _export(inv, item):
    buffer = io.StringIO()
    inv.export_csv(buffer, search=item["sku"])
    return buffer.getvalue()


OPERATIONS: dict[str, Operation] = {
    "query": ("read", lambda inv, item: inv.query(search=item["sku"]), lambda _a, _i, page: _expect(page.total == 1)),
    "get": ("read", lambda inv, item: inv.get(item["id"]), lambda _a, item, got: _expect(got["id"] == item["id"])),
    "summary": ("read", lambda inv, _item: inv.summary(), lambda _a, _i, s: _expect(s["items"] >= 1)),
    "history": ("read", lambda inv, item: inv.history(item["id"]), lambda _a, _i, h: _expect(len(h) >= 1)),
    "analytics": (
        "read",
        lambda inv, _item: (
            inv.value_by_category(),
            inv.low_stock(),
            inv.stock_status_counts(),
            inv.top_items_by_value(),
            inv.quantity_by_location(),
        ),
        lambda _a, _i, frames: _expect(len(frames[0]) >= 1),
    ),
    "export": ("export", _export, _check_exported),
    "add": (
        "add",
        lambda inv, _item: inv.add(
            {"item_name": "Anchor", "category": "Hardware", "quantity": 1, "unit_price": "0.50"}
        ),
        _check_added,
    ),
    "edit": (
        "edit",
        lambda inv, item: inv.update(item["id"], {"unit_price": "50.00"}, version=item["version"]),
        _check_edited,
    ),
    "adjust": ("adjust", lambda inv, item: inv.adjust_stock(item["id"], 3, "delivery"), _check_adjusted),
    "import": ("import", lambda inv, _item: inv.import_csv(CSV), _check_imported),
    "delete": ("delete", lambda inv, item: inv.delete(item["id"], version=item["version"]), _check_deleted),
    "audit": ("audit", lambda inv, _item: inv.audit_log(), lambda _a, _i, page: _expect(page.total >= 1)),
}


def _expect(condition: bool) -> None:
    assert condition


@pytest.mark.parametrize("operation", list(OPERATIONS))
@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_role_by_operation_through_the_service(role_db, role, operation):
    admin = role_db
    permission, call, check = OPERATIONS[operation]
    item = _new_item(admin)
    inv = _acting(admin, role)
    if inv.user.can(permission):
        check(admin, item, call(inv, item))
        return
    before = _state(admin)
    denials_before = admin.audit_log(action="denied").total
    with pytest.raises(PermissionDeniedError) as exc:
        call(inv, item)
    assert exc.value.user == USERS[role] and exc.value.role == role
    assert str(exc.value).startswith(f"{USERS[role]} ({role}) may not ")
    assert _state(admin) == before
    denials = admin.audit_log(action="denied")
    assert denials.total == denials_before + 1
    newest = denials.rows.iloc[0]
    assert newest["actor"] == USERS[role] and newest["detail"] == f"{permission} refused for role {role}"


def test_the_matrix_refuses_exactly_what_the_issue_says(role_db):
    # Guard against the matrix above silently passing because every role could do everything.
    refused = {
        role: sorted(op for op, (perm, _c, _k) in OPERATIONS.items() if not _acting(role_db, role).user.can(perm))
        for role in USERS
    }
    assert refused == {
        "viewer": ["add", "adjust", "audit", "delete", "edit", "import"],
        "editor": ["audit", "delete"],
        "admin": [],
    }


# -- through the CLI -------------------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, role_db: ip.Inventory) -> str:
    """Environment of a CLI run against ``role_db``: the role lists, no INVENTORY_USER / default role."""
    for name in ("INVENTORY_USER", "INVENTORY_DEFAULT_ROLE", "INVENTORY_DATABASE_URL", "PGHOST"):
        monkeypatch.delenv(name, raising=False)
    for name, value in ROLE_ENV.items():
        monkeypatch.setenv(name, value)
    return role_db.db.engine.url.render_as_string(hide_password=False)


@pytest.fixture
def csv_file(tmp_path) -> str:
    path = tmp_path / "items.csv"
    path.write_bytes(CSV)
    return str(path)


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_cli_import_obeys_the_role(role_db, cli_env, csv_file, role, capsys, monkeypatch):
    monkeypatch.setenv("INVENTORY_DEFAULT_ROLE", "viewer")  # an unlisted user (vera) is a viewer
    before = _state(role_db)
    status = cli_main(["--database-url", cli_env, "--user", USERS[role], "import", csv_file])
    out, err = capsys.readouterr()
    if role == "viewer":
        assert status == 2
        assert err.strip() == (
            f"inventory-panel: {USERS[role]} (viewer) may not import CSV files. "
            "Ask an administrator for a role that allows it."
        )
        assert "Traceback" not in out + err
        assert _state(role_db) == before
        assert role_db.audit_log(action="denied").rows.iloc[0]["actor"] == USERS[role]
    else:
        assert status == 0, err
        rows, _moves = _state(role_db)
        assert len(rows) == len(before[0]) + 1 and rows[-1]["created_by"] == USERS[role]


def test_cli_import_as_a_viewer_with_json_prints_the_error(role_db, cli_env, csv_file, capsys, monkeypatch):
    monkeypatch.setenv("INVENTORY_DEFAULT_ROLE", "viewer")
    monkeypatch.setenv("INVENTORY_USER", "vera@example.com")  # the acting user from the environment this time
    status = cli_main(["--database-url", cli_env, "import", csv_file, "--json"])
    out, _err = capsys.readouterr()
    assert status == 2
    assert '"error": "vera@example.com (viewer) may not import CSV files. Ask an administrator' in out


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_cli_export_is_allowed_to_every_role(role_db, cli_env, role, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("INVENTORY_DEFAULT_ROLE", "viewer")
    item = _new_item(role_db)
    target = tmp_path / "out.csv"
    status = cli_main(
        ["--database-url", cli_env, "--user", USERS[role], "export", "--output", str(target), "--search", item["sku"]]
    )
    assert status == 0, capsys.readouterr().err
    assert item["sku"] in target.read_text(encoding="utf-8")


def test_cli_load_sample_as_a_viewer_is_refused_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("INVENTORY_DEFAULT_ROLE", "viewer")
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    status = cli_main(["--database-url", url, "--user", "vera@example.com", "load-sample"])
    assert status == 2 and "may not import CSV files" in capsys.readouterr().err
    check = ip.connect(url, user="x", role="admin", settings=load_settings({}))
    assert check.summary()["items"] == 0
    check.close()


def test_cli_local_user_without_a_default_role_is_admin(role_db, cli_env, csv_file, capsys):
    # The CLI is a "local" identity: the single person at the terminal owns the database unless told otherwise.
    status = cli_main(["--database-url", cli_env, "--user", "someone-unlisted@example.com", "import", csv_file])
    assert status == 0, capsys.readouterr().err
    assert role_db.query(sort_by="id", descending=True, limit=1).rows.iloc[0]["created_by"] == (
        "someone-unlisted@example.com"
    )
