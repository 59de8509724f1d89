"""The one-way layers of issue 13, read from the source (no import runs): what each layer may not import.

import-linter enforces the whole contract set in ``make test``; these name the seams the unit of work, the import
port and the credential hook exist for, so a regression points at the module that broke one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "inventory_panel"


def _imports(path: Path) -> set[str]:
    """Absolute names of the modules ``path`` imports (lazy imports inside functions included)."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module.removesuffix(".__init__")
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return found


def _offenders(paths: list[Path], forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    bad = {}
    for path in paths:
        hits = sorted(n for n in _imports(path) if n.startswith(forbidden))
        if hits:
            bad[str(path.relative_to(PACKAGE.parent))] = hits
    return bad


def _modules(*parts: str) -> list[Path]:
    paths: list[Path] = []
    for part in parts:
        target = PACKAGE / part
        paths += sorted(target.rglob("*.py")) if target.is_dir() else [target]
    return paths


@pytest.mark.parametrize("module", ["importing/pipeline.py", "importing/writing.py", "importing/report.py"])
def test_the_import_never_sees_the_service(module):
    """The import gets a port (``importing.writing.ImportTarget``); the service imports ``importing``, never back."""
    assert _offenders(_modules(module), ("inventory_panel.inventory", "inventory_panel.service")) == {}


def test_nothing_in_importing_reaches_the_service_or_the_ui():
    assert (
        _offenders(
            _modules("importing"),
            (
                "inventory_panel.inventory",
                "inventory_panel.service",
                "inventory_panel.ui",
                "inventory_panel.databricks",
                "panel",
            ),
        )
        == {}
    )


def test_storage_and_the_service_never_import_databricks():
    """Lakebase credentials and Unity Catalog tables are plugged in from the entry (``databricks/wiring.py``)."""
    layers = _modules("storage", "service", "inventory.py")
    assert _offenders(layers, ("inventory_panel.databricks", "databricks")) == {}


def test_storage_never_imports_the_service_the_import_or_panel():
    assert (
        _offenders(
            _modules("storage"),
            (
                "inventory_panel.inventory",
                "inventory_panel.service",
                "inventory_panel.importing",
                "inventory_panel.ui",
                "panel",
            ),
        )
        == {}
    )


@pytest.mark.parametrize("module", ["ui/model.py", "ui/importer.py"])
def test_the_ui_goes_through_the_service(module):
    """No SQL building and no import behind the service's back: ``Inventory.import_csv``, ``inventory.STATUSES``."""
    assert (
        _offenders(
            _modules(module),
            ("inventory_panel.storage", "inventory_panel.importing.pipeline", "inventory_panel.importing.import_csv"),
        )
        == {}
    )


def test_the_ui_never_imports_databricks():
    """Who a person is and the dashboard reach the UI through ``ui/plugins.py``, which ``databricks/wiring.py`` fills
    from the package root: so the notebook helpers (in ``databricks``) import the UI without a cycle."""
    assert _offenders(_modules("ui"), ("inventory_panel.databricks", "databricks")) == {}


@pytest.mark.parametrize("module", ["cli.py", "exporting"])
def test_the_cli_and_exporting_never_see_the_database_side(module):
    """The CLI gets database errors in words from the service; exporting gets plain column kinds, never SQL types."""
    assert _offenders(_modules(module), ("inventory_panel.storage", "sqlalchemy", "sqlite3", "psycopg2")) == {}


def test_only_the_dialect_modules_branch_on_the_backend():
    """SQLite/PostgreSQL differences of the service and the import live in ``storage/dialects`` (one per backend)."""
    branches = {}
    for path in _modules(
        "inventory.py", "service", "importing", "storage/bulk.py", "storage/unit_of_work.py", "storage/queries.py"
    ):
        text = path.read_text(encoding="utf-8")
        hits = [
            word for word in ('"postgresql"', "'postgresql'", '"sqlite"', "'sqlite'", "self.postgres") if word in text
        ]
        if hits:
            branches[path.name] = hits
    assert branches == {}


def test_every_module_of_the_service_and_storage_is_under_400_lines():
    """The modules behind the facade each do one job; the facade itself is the public API and says so."""
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in _modules("service", "storage")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) >= 400
    }
    assert long == {}


def test_a_module_over_400_lines_says_why_in_its_docstring():
    unexplained = {}
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > 400 and "Over 400 lines" not in (ast.get_docstring(ast.parse(text)) or ""):
            unexplained[str(path.relative_to(PACKAGE))] = len(text.splitlines())
    assert unexplained == {}
