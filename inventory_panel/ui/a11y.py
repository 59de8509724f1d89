"""Accessibility of the served page (WCAG 2.2 AA): contrast in both themes, visible focus, names for every control.

``AppDesign`` is Panel's Fast design plus one style sheet (``CSS``) that every component of the page gets in its
shadow root, after Fast's own: solid buttons and the selected segment of a button group in the app's accent with
white text, the warning colour dark enough for white text, a hovered table row tinted rather than filled, and a
focus ring on whatever has keyboard focus (Fast's sheet removes the outline). ``TOAST_TYPES`` gives the toasts
colours that white text reads on, ``hidden_label`` names a control whose label is not shown, and ``accessible``
puts the pieces on the app's page template. ``tests/ui/test_accessibility.py`` checks the result with axe-core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

import panel as pn
import param
from panel.reactive import ReactiveHTML
from panel.theme.base import Inherit
from panel.theme.fast import Fast
from panel.viewable import Viewable

from . import local_assets, styles

if TYPE_CHECKING:
    from panel.io.resources import ResourcesType

# White text on each of these is at least 4.5:1 (amber 5.0, green 5.5, red 6.5, the teal accent 5.5).
WARNING = "#B45309"
WARNING_HOVER = "#92400E"
SUCCESS = "#047857"
DANGER = "#B91C1C"
ACCENT_HOVER = "#115E59"
ACCENT_ACTIVE = "#134E4A"
# The focus ring: the accent mixed with the text colour, dark on the light theme and light on the dark one (at
# least 3:1 against the background in both).
FOCUS = f"color-mix(in srgb, {styles.ACCENT} 60%, {styles.TEXT})"
# Red text (an outlined Delete button) mixed the same way: #DC3545 on the dark theme's background was 3.9:1.
DANGER_TEXT = f"color-mix(in srgb, {DANGER} 60%, {styles.TEXT})"

CSS = f"""
:host {{
  /* Fast derives its own accent fill from the accent colour: #1D7E77, and the selected segment then had dark text
     on it (3.5:1). The accent itself, with white text, is 5.5:1. */
  --accent-fill-rest: {styles.ACCENT};
  --accent-fill-hover: {ACCENT_HOVER};
  --accent-fill-active: {ACCENT_ACTIVE};
  --foreground-on-accent-rest: #ffffff;
  --foreground-on-accent-hover: #ffffff;
  --foreground-on-accent-active: #ffffff;
  --warning-bg-color: {WARNING};
  --danger-bg-color: {DANGER};
}}
/* A dialog takes the page's surface and text colours (Panel's Modal is white in both themes: white text on white
   in the dark one). */
.dialog-content {{ background-color: {styles.SURFACE}; color: {styles.TEXT}; }}
:host(.outline) .bk-btn-group .bk-btn.bk-btn-primary.bk-active,
:host(.outline) .bk-btn-group .bk-btn.bk-btn-primary.bk-active:hover {{
  background-color: {styles.ACCENT}; border-color: {styles.ACCENT}; color: #ffffff;
}}
:host(.solid) .bk-btn.bk-btn-danger {{ background-color: {DANGER}; border-color: {DANGER}; color: #ffffff; }}
:host(.solid) .bk-btn.bk-btn-warning {{ background-color: {WARNING}; border-color: {WARNING}; color: #ffffff; }}
:host(.solid) .bk-btn.bk-btn-warning:hover {{ background-color: {WARNING_HOVER}; border-color: {WARNING_HOVER}; }}
:host(.outline) .bk-btn.bk-btn-warning {{ color: var(--inv-warning-text, {WARNING}); border-color: {WARNING}; }}
/* A hovered row: a light tint of the accent under the row's own text colours (Fast filled it with the accent and
   the "Open ›" link, drawn in the accent, disappeared). */
.tabulator-row.tabulator-selectable:hover {{
  background-color: color-mix(in srgb, {styles.ACCENT} 12%, transparent) !important; color: inherit !important;
}}
/* Outlined plain buttons in the text colour (Fast's #818181 was 3.9:1 on the dark theme's dialog surface). */
:host(.outline) .bk-btn.bk-btn-default {{ color: {styles.TEXT}; }}
:host(.outline) .bk-btn.bk-btn-danger {{ color: {DANGER_TEXT}; border-color: {DANGER_TEXT}; }}
/* The file chip: its second line (size, "tap to undo") was drawn at half opacity (2.9:1 on the chip), and its
   white text was 3.6:1 on FilePond's green "done" chip and 4.1:1 on its red "error" chip. */
.filepond--file-info-sub, .filepond--file-status-sub {{ opacity: 1 !important; }}
[data-filepond-item-state='processing-complete'] .filepond--item-panel {{ background-color: {SUCCESS} !important; }}
[data-filepond-item-state*='invalid'] .filepond--item-panel,
[data-filepond-item-state*='error'] .filepond--item-panel {{ background-color: {DANGER} !important; }}
/* Keyboard focus is always visible (Fast's sheet sets outline: none on focused buttons). */
:focus-visible {{ outline: 2px solid {FOCUS} !important; outline-offset: 2px; }}
.tabulator-cell:focus-visible, .tabulator-cell.tabulator-editing {{ outline-offset: -2px; }}
.tabulator-cell.tabulator-editing {{ outline: 2px solid {FOCUS}; }}
"""

# A control's label kept for assistive technology but not drawn (the menus of a toolbar say what they are by their
# first choice, "All categories"): the visually-hidden pattern, not display: none, which would drop the name too.
HIDDEN_LABEL = """
.bk-input-group > label, label.bk-input-group-label {
  position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
"""

# Panel's toast colours had white text at 1.6:1 (warning, #FFC107), 2.4:1 (success) and 4.0:1 (info).
TOAST_TYPES: list[dict[str, Any]] = [
    {"type": kind, "background": colour, "icon": {"className": icon, "tagName": "i", "color": "white"}}
    for kind, colour, icon in (
        ("warning", WARNING, "fas fa-exclamation-triangle"),
        ("info", styles.ACCENT, "fas fa-info-circle"),
        ("success", SUCCESS, "fas fa-check-circle"),
        ("error", DANGER, "fas fa-times-circle"),
    )
]


# A toast sits inside the 64 px title bar, over its text and clear of every control below it: Notyf's own 20 px
# margin, 17 px padding and 300 px width made a success two lines tall and 20-30 px lower than the bar, over the
# first field of a form scrolled to the top (tests/ui/test_notifications.py at 800 px).
TOAST_CSS = """
.notyf { padding: 8px 20px; }
.notyf__toast { max-width: min(640px, calc(100vw - 40px)); }
.notyf__wrapper { padding-top: 9px; padding-bottom: 9px; }
.notyf__message { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
"""


class AppDesign(Fast):
    """Panel's Fast design with the app's accessibility sheet on every component."""

    modifiers: ClassVar[dict[Any, dict[str, Any]]] = {Viewable: {"stylesheets": [Inherit, CSS]}}
    _resources = cast("ResourcesType", local_assets.FAST_RESOURCES)  # no web font (local_assets.py)

    def resolve_resources(self, *args: Any, **kwargs: Any) -> Any:
        # Panel finds a design's files under a folder named after its class ("appdesign/js/fast_design.js" does not
        # exist): Fast's files, as Fast resolves them.
        return local_assets.without_web_fonts(Fast(theme=type(self.theme)).resolve_resources(*args, **kwargs))


def hidden_label(widget: pn.widgets.Widget, label: str) -> pn.widgets.Widget:
    """Name ``widget`` ``label`` for screen readers without showing the label; returns the widget."""
    widget.param.update(name=label, stylesheets=[*widget.stylesheets, HIDDEN_LABEL])
    return widget


def labelled_checkbox(owner: param.Parameterized, name: str, label: str, **params: Any) -> pn.widgets.CheckBoxGroup:
    """A checkbox for ``owner``'s Boolean parameter ``name``, its text a ``<label>`` around the box.

    Bokeh 3.9's ``Checkbox`` draws its text in a ``<div>`` beside the input, which leaves the input without a name;
    a one-choice ``CheckBoxGroup`` wraps each box in its label.
    """
    box = pn.widgets.CheckBoxGroup(options=[label], value=[label] if getattr(owner, name) else [], **params)
    box.param.watch(lambda event: setattr(owner, name, bool(event.new)), "value")
    owner.param.watch(lambda event: setattr(box, "value", [label] if event.new else []), name)
    return box


class ThemeSwitchName(ReactiveHTML):
    """Names the template's light/dark switch ("Light theme", on while the light theme is shown).

    The switch is part of the page template's own HTML, outside any component, so only a script can name it.
    """

    _template = '<span id="marker" aria-hidden="true"></span>'
    _scripts: ClassVar[dict[str, str]] = {
        "render": (
            "const s = document.getElementById('theme-switch');"
            "if (s) { s.setAttribute('aria-label', 'Light theme'); s.setAttribute('title', 'Light theme'); }"
        )
    }


def accessible(template: Any) -> Any:
    """Readable toasts within the title bar and a named theme switch on the page ``template`` (built with
    ``design=AppDesign``)."""
    if template.notifications is not None:
        template.notifications.types = TOAST_TYPES
        template.config.raw_css = [*template.config.raw_css, TOAST_CSS]
    template.header.append(ThemeSwitchName(width=0, height=0, margin=0))
    return template
