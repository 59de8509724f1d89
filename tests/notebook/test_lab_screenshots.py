"""``tools/lab_screenshots.py``: the importer in a real JupyterLab on its dark theme is dark too.

A component in a notebook cell has no Panel design of its own; its colours must come from JupyterLab's theme as
Panel's own widgets' do. Before, the importer's cards were white with light text on them and its title was dark on
the dark page: most of the shot was near white.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ui.test_screenshots import MAX_BRIGHT_SHARE, bright_share
from tools.lab_screenshots import shoot_lab

pytestmark = pytest.mark.slow


def test_importer_follows_jupyterlabs_dark_theme(tmp_path: Path) -> None:
    (shot,) = shoot_lab(tmp_path, ["importer"], themes=["dark"])
    assert shot.path.stat().st_size > 0
    share = bright_share(shot.path)
    assert share < MAX_BRIGHT_SHARE, f"{share:.0%} of the importer is near white on JupyterLab's dark theme"
