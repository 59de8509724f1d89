"""The served page asks nothing of another origin: no web font, every script and style sheet from the app's server.

Panel 1.9.4's Fast design (the page template's) declares a web font, Open Sans from ``fonts.googleapis.com``, and
Panel adds it to every page twice: as a style sheet of the design's resources (``Design.resolve_resources``) and
from ``config.design._resources['font']`` (``panel.io.resources.Resources.css_files``). Offline, or in a workspace
with egress rules, that is two console errors per page load and a fallback font anyway. Everything else the page
loads (Bokeh, Panel, Fast's components, Tabulator, the file dropper) is served by ``panel serve`` from its own
``/static`` folders.

So the app's designs are Fast without the web font (``LocalFast``; ``a11y.AppDesign`` strips it the same way), and
the page uses the system's interface font (``FONT``): what every operating system already has, nothing to fetch.
Registered in docs/workarounds.md; ``tests/ui/test_look_and_feel.py`` records every request of a session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from panel.theme.fast import Fast

if TYPE_CHECKING:  # defined by Panel for type checkers only
    from panel.io.resources import ResourcesType

# The system's own interface font on each platform, then the common sans-serif fallbacks.
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
# Fast's resources with no web font: what Resources.css_files reads from the design class.
FAST_RESOURCES: dict[str, Any] = {**Fast._resources, "font": {}}
WEB_FONTS = frozenset(Fast._resources.get("font", {}))  # their names among a design's style sheets


def without_web_fonts(resources: dict[str, Any]) -> dict[str, Any]:
    """A design's resolved resources (``Design.resolve_resources``) without the web fonts' style sheets."""
    css = resources.get("css")
    if isinstance(css, dict):
        resources = {**resources, "css": {name: url for name, url in css.items() if name not in WEB_FONTS}}
    return resources


class LocalFast(Fast):
    """Panel's Fast design without the web font (for pages without the app's own design, e.g. the error page)."""

    _resources = cast("ResourcesType", FAST_RESOURCES)

    def resolve_resources(self, *args: Any, **kwargs: Any) -> Any:
        # Resolved as Fast resolves them: Panel looks a design's files up under a folder named after its class.
        return without_web_fonts(Fast(theme=type(self.theme)).resolve_resources(*args, **kwargs))
