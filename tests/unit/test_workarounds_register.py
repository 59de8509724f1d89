"""The workarounds register (docs/workarounds.md) stays complete, and the one race it records has a test that tells
when the Panel code behind it changes.

Every section names the library and its version, how to reproduce the behaviour, the measured effect, a draft
upstream issue, and a test (``tests/...::test_...``) that tells when the workaround can go. A section appended
without one of those fails here, with the heading and what is missing.
"""

from __future__ import annotations

import re
from pathlib import Path

import panel

ROOT = Path(__file__).resolve().parents[2]
REGISTER = ROOT / "docs" / "workarounds.md"

# What each section must say, as (what, pattern searched case-insensitively in the section's text).
REQUIRED = [
    ("a reproduction", r"reproduc"),
    ("the measured effect", r"measured effect"),
    ("a draft upstream issue", r"upstream issue"),
    ("a test that tells when it can go", r"tests/[\w/]+\.py::test_\w+"),
]


def sections() -> list[tuple[str, str]]:
    parts = re.split(r"(?m)^## ", REGISTER.read_text(encoding="utf-8"))[1:]
    return [(part.split("\n", 1)[0], part) for part in parts]


def test_every_workaround_section_is_complete() -> None:
    found = sections()
    assert len(found) >= 19  # the register as of this round; a section is never dropped without its code
    missing = [
        f"{heading}: no {what}"
        for heading, text in found
        for what, pattern in REQUIRED
        if not re.search(pattern, text, re.IGNORECASE)
    ]
    unversioned = [heading for heading, _ in found if not re.search(r"\d+\.\d+", heading)]
    assert missing == []
    assert unversioned == [], "each heading names the library version it was measured on"


def test_every_test_the_register_names_exists() -> None:
    named = {ref for _, text in sections() for ref in re.findall(r"(tests/[\w/]+\.py)::(test_\w+)", text)}
    absent = []
    for path, name in sorted(named):
        source = ROOT / path
        if not source.exists() or not re.search(rf"def {name}\b", source.read_text(encoding="utf-8")):
            absent.append(f"{path}::{name}")
    assert absent == []


def test_panel_tabulator_still_redraws_a_shown_table_only_on_a_resize() -> None:
    """docs/workarounds.md, "rows given to a hidden table are not drawn when it is shown": the low-stock view shows
    its table before giving it rows because Panel's TabulatorView, when ``visible`` turns true, only restores the
    element's CSS visibility (no redraw), and its ``after_resize`` returns early while the table is drawing. When
    either changes, re-run the notebook test with the two lines of ``LowStockView._render`` swapped back."""
    source = (Path(panel.__file__).parent / "models" / "tabulator.ts").read_text(encoding="utf-8")
    on_visible = re.findall(r"this\.on_change\(visible, \(\) => \{?(.*?)\}?\)\n", source, re.DOTALL)
    assert on_visible, "TabulatorView no longer watches `visible` the way the workaround assumes"
    assert all("redraw" not in handler for handler in on_visible)
    after_resize = re.search(r"override after_resize\(\): void \{(.*?)\n  \}", source, re.DOTALL)
    assert after_resize is not None
    assert re.search(r"if \(.*this\.is_drawing\) \{\s*return", after_resize.group(1))


def test_panel_tabulator_still_redraws_every_row_on_any_data_change() -> None:
    """docs/workarounds.md, "any change of its data redraws every row": ItemsTable keeps a reloaded page whose
    versions alone changed from the browser, because Panel's TabulatorView answers a new ``data`` and a patch alike
    with Tabulator's ``setData`` (every row drawn again, an open cell editor closed). When a patch updates rows in
    place, ``ItemsTable`` could patch the changed cells instead."""
    source = (Path(panel.__file__).parent / "models" / "tabulator.ts").read_text(encoding="utf-8")
    on_data = re.search(
        r"this\.on_change\(this\.model\.source\.properties\.data, \(\) => \{(.*?)\n    \}\)", source, re.S
    )
    assert on_data is not None and "this.setData()" in on_data.group(1)
    update = re.search(r"updateOrAddData\(\): void \{(.*?)\n  \}", source, re.DOTALL)
    assert update is not None and "this.tabulator.setData(" in update.group(1)
