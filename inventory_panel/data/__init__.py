"""Data shipped inside the package, so that it is there after ``pip install`` and not only in a source checkout.

``SAMPLE_CSV``: the ten sample items that ``inventory-panel load-sample``, ``make demo`` and the app's "Load sample
data" import. It is located with ``importlib.resources`` (package data declared in pyproject.toml) and is a plain
file on disk: the package is never imported from a zip (Alembic reads its migrations from disk too).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

SAMPLE_CSV = Path(str(files(__name__).joinpath("sample_inventory.csv")))
