"""Packaging: a wheel of the package, installed outside the checkout, runs ``load-sample`` and ``serve``; every
third-party module the package imports is a declared dependency.

The wheel is built from a copy of the sources (so nothing is written into the checkout) and installed, without the
network (``--no-deps --no-index``), into a fresh venv in a temporary folder. That venv sees the project venv's
site-packages through a ``.pth`` path line: the third-party dependencies are found there, while the project venv's
own editable install of ``inventory_panel`` is not (a path line does not run that folder's ``.pth`` hooks), so
``inventory_panel`` can only come from the wheel.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

from tools.process_group import process_group

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "inventory_panel"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clean_env(venv: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("INVENTORY_", "PG", "DATABRICKS_", "BOKEH_", "PYTHON", "VIRTUAL_ENV"))
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A venv outside the checkout with the package installed from its wheel; returns the venv's folder."""
    work = tmp_path_factory.mktemp("packaging")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        PACKAGE, source / "inventory_panel", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    )
    wheels = work / "wheels"
    _pip("wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir", str(wheels), str(source), cwd=work)
    (wheel,) = wheels.glob("inventory_panel-*.whl")

    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    (target,) = venv.glob("lib/python*/site-packages")
    # The project venv's third-party packages, by path only (its editable-install hook is not run: see above).
    (target / "project_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    _pip(
        "--python", str(venv / "bin" / "python"), "install", "--quiet", "--no-deps", "--no-index", str(wheel), cwd=work
    )
    return venv


def _pip(*args: str, cwd: Path) -> None:
    """The project venv's pip (offline: the wheel is built and installed without fetching anything)."""
    subprocess.run([sys.executable, "-m", "pip", *args], check=True, cwd=cwd, timeout=300)


@pytest.mark.slow
def test_the_installed_package_is_the_wheel_not_the_checkout(installed, tmp_path):
    where = subprocess.run(
        [
            str(installed / "bin" / "python"),
            "-c",
            "import inventory_panel, inventory_panel.data as d; "
            "print(inventory_panel.__file__); print(d.SAMPLE_CSV.is_file())",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_clean_env(installed),
        timeout=120,
    )
    assert where.returncode == 0, where.stderr
    location, sample_found = where.stdout.split()
    assert Path(location).is_relative_to(installed), location
    assert sample_found == "True"


@pytest.mark.slow
def test_load_sample_and_serve_work_outside_the_checkout(installed, tmp_path):
    env = _clean_env(installed)
    db_url = f"sqlite:///{tmp_path / 'inventory.db'}"
    cli = str(installed / "bin" / "inventory-panel")

    loaded = subprocess.run(
        [cli, "--database-url", db_url, "load-sample"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=180,
    )
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert "Loaded 10 sample items." in loaded.stdout

    port = _free_port()
    serving = [cli, "--database-url", db_url, "serve", "--port", str(port)]
    with (
        (tmp_path / "serve.log").open("w+") as log,
        process_group(serving, cwd=tmp_path, env=env, log=log, grace=15) as server,
    ):
        page = ""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert server.poll() is None, Path(log.name).read_text()
            try:
                # The package's ui/served/app.py is served at /app, the path a Databricks App has too.
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/app", timeout=30) as response:
                    page = response.read().decode("utf-8")
                    break
            except OSError:
                time.sleep(0.3)
        assert "Lakebase Inventory" in page, Path(log.name).read_text()
        served_log = Path(log.name).read_text()
        assert "Traceback" not in served_log and "Error running application handler" not in served_log, served_log


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level module name -> the package's files that import it (stdlib and our own excluded)."""
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "inventory_panel":
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


# Imported but deliberately not declared, with the reason.
NOT_DECLARED = {
    "pyspark": "the Databricks runtime's own Spark: imported only inside a notebook, in a try that treats its "
    "absence as 'no Spark session' (databricks/notebook.py, databricks/uc_import.py)",
}


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_every_third_party_import_is_a_declared_dependency():
    """Each module the package imports belongs to a distribution named in ``[project] dependencies`` (or, for the
    notebook helpers, the ``notebook`` extra)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = [*project["dependencies"], *project["optional-dependencies"]["notebook"]]
    declared = {_requirement_name(requirement) for requirement in requirements}
    providers = md.packages_distributions()
    undeclared = {}
    for module, files in sorted(_third_party_imports().items()):
        if module in NOT_DECLARED:
            continue
        distributions = {d.lower().replace("_", "-") for d in providers.get(module, [module])}
        if not distributions & declared:
            undeclared[module] = (sorted(distributions), sorted(files))
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


def test_the_dependency_check_sees_a_module_that_is_not_declared(monkeypatch):
    """The check above is not vacuous: it reports an import whose distribution is missing from the declaration."""
    real = _third_party_imports()
    assert {"panel", "sqlalchemy", "pandas"} <= set(real)
    monkeypatch.setattr(sys.modules[__name__], "_third_party_imports", lambda: {**real, "hypothesis": {"x.py"}})
    with pytest.raises(AssertionError, match="hypothesis"):
        test_every_third_party_import_is_a_declared_dependency()
