"""Style sheets of the app's own HTML (cards, header, empty state, messages) and of its tables.

They use Panel's design variables (``--design-*``) so the light and the dark theme both read well; every
component passes the sheets it needs through ``stylesheets=`` because Panel renders components in shadow DOM.
"""

from __future__ import annotations

ACCENT = "#0F766E"  # teal: calm, readable on white and on the dark background
LOW_ROW = "rgba(245, 158, 11, 0.18)"
OUT_ROW = "rgba(220, 38, 38, 0.16)"

# The page's text and surface colours, looked up as Panel's own widgets do (theme/css/native.css): the served
# template's design variables, else VS Code's or JupyterLab's theme (a notebook cell has no Panel design: on
# JupyterLab's dark theme the plain fallbacks drew white cards and dark titles on the dark page), else Panel's.
TEXT = (
    "var(--design-background-text-color, var(--vscode-editor-foreground, var(--jp-ui-font-color1, "
    "var(--panel-on-background-color, #1f2933))))"
)
SURFACE = (
    "var(--design-surface-color, var(--vscode-notebook-editorBackground, var(--jp-layout-color0, "
    "var(--panel-background-color, #ffffff))))"
)

# Row colours of the item tables, keyed on the status cell (formatting.STATUS_HTML) and the open item's marker:
# the browser styles each page as it arrives, so the server sends data only. The "Open" link is the accent mixed
# with the text colour: the plain accent was too dark to read on the dark theme (60%: 4.5:1 on a low-stock row).
STATUS_ROWS = f"""
.tabulator-row:has(.st-low) .tabulator-cell {{ background-color: {LOW_ROW}; }}
.tabulator-row:has(.st-out) .tabulator-cell {{ background-color: {OUT_ROW}; }}
.tabulator-row:has(.open-item.selected) .tabulator-cell {{ font-weight: 600; }}
.tabulator-row:has(.open-item.selected) .tabulator-cell:first-child {{ box-shadow: inset 4px 0 0 {ACCENT}; }}
.tabulator-cell[tabulator-field="open"] {{ color: color-mix(in srgb, {ACCENT} 60%, {TEXT}); }}
"""

# The app's accent on every component's root (component_root): a component alone in a notebook cell looks as it
# does in the app. Custom properties inherit through the shadow roots of the panes inside.
VARIABLES = f"""
:host {{
  --design-primary-color: {ACCENT};
  --panel-primary-color: {ACCENT};
}}
"""

BASE = f"""
:host {{
  --inv-text: {TEXT};
  --inv-muted: color-mix(in srgb, var(--inv-text) 72%, transparent);  /* 4.5:1 and more on the surfaces */
  --inv-surface: {SURFACE};
  --inv-border: color-mix(in srgb, var(--inv-text) 14%, transparent);
  --inv-accent: var(--design-primary-color, #0F766E);
  /* Mixed with the text colour: darker on the light theme, lighter (readable) on the dark one. */
  --inv-low: color-mix(in srgb, #d97706 72%, var(--inv-text));
  --inv-ok: color-mix(in srgb, #047857 72%, var(--inv-text));
  /* Text in the accent colour: the accent alone was 3.2:1 on the dark theme's background. */
  --inv-accent-text: color-mix(in srgb, var(--inv-accent) 60%, var(--inv-text));
  --inv-out: color-mix(in srgb, #dc2626 68%, var(--inv-text));
  font-family: var(--body-font, "Inter", "Segoe UI", system-ui, sans-serif);
}}
"""

# Inline ``styles=`` of a layout shown as a bordered card (layouts get no shadow-DOM sheet of their own).
CARD_BOX = {
    "border": f"1px solid color-mix(in srgb, {TEXT} 14%, transparent)",
    "border-radius": "10px",
    "padding": "8px 10px",
    "background": SURFACE,
}

CARDS = (
    BASE
    + """
.cards { display: grid; grid-template-columns: repeat(6, minmax(0, 1fr)); gap: 12px; width: 100%; }
.card {
  background: var(--inv-surface); border: 1px solid var(--inv-border); border-radius: 10px;
  padding: 12px 16px; box-shadow: 0 1px 2px rgba(0,0,0,0.04); min-width: 0;
}
.card .label { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--inv-muted); }
.card .value { font-size: 24px; font-weight: 600; color: var(--inv-text); margin-top: 4px;
               white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.card.low .value { color: var(--inv-low); }
.card.out .value { color: var(--inv-out); }
.card.low { border-left: 4px solid #f59e0b; }
.card.out { border-left: 4px solid #dc2626; }
@media (max-width: 900px) { .cards { grid-template-columns: repeat(3, minmax(0, 1fr)); } }
@media (max-width: 560px) { .cards { grid-template-columns: repeat(2, minmax(0, 1fr)); } }
"""
)

HEADER = (
    BASE
    + """
.who { display: flex; align-items: center; gap: 10px; color: white; font-size: 14px; white-space: nowrap; }
.who .name { font-weight: 600; }
.who .pill { border: 1px solid rgba(255,255,255,.55); border-radius: 999px; padding: 1px 10px; font-size: 12px; }
.who .db { opacity: .85; font-size: 12px; max-width: 360px; overflow: hidden; text-overflow: ellipsis; }
.app-title { color: white; font-size: 20px; font-weight: 500; white-space: nowrap; }
"""
)

EMPTY = (
    BASE
    + """
.empty { text-align: center; padding: 40px 24px 8px; color: var(--inv-text); }
.empty h2 { margin: 0 0 8px; font-size: 22px; font-weight: 600; }
.empty p { margin: 0 auto; max-width: 560px; color: var(--inv-muted); font-size: 15px; line-height: 1.5; }
"""
)

PANEL_TITLE = (
    BASE
    + """
.title { font-size: 18px; font-weight: 600; color: var(--inv-text); margin: 0; overflow-wrap: anywhere; }
.sub { font-size: 13px; color: var(--inv-muted); margin-top: 2px; }
.sub b { color: var(--inv-text); font-weight: 600; }
"""
)

PAGER = (
    BASE
    + """
.range { color: var(--inv-muted); font-size: 13px; white-space: nowrap; line-height: 32px; }
"""
)

ERROR_PAGE = (
    BASE
    + """
.problem { max-width: 720px; margin: 48px auto; padding: 24px 28px; border-radius: 12px;
           border: 1px solid var(--inv-border); border-left: 6px solid #dc2626; background: var(--inv-surface); }
.problem h2 { margin: 0 0 8px; font-size: 20px; color: var(--inv-text); }
.problem p { color: var(--inv-text); font-size: 15px; line-height: 1.5; }
.problem code { background: color-mix(in srgb, var(--inv-text) 8%, transparent); padding: 1px 5px;
                border-radius: 4px; }
"""
)

# Messages that stay on screen: ``pn.pane.Alert`` (messages.Notice, the import's result) in the app's colours
# instead of Bootstrap's, and the same look for an HTML pane that marks a message up as ``.banner <kind>``.
BANNER = (
    BASE
    + """
:host(.alert), .banner { border-radius: 8px; padding: 10px 14px; font-size: 14px; line-height: 1.45;
                         color: var(--inv-text); border: 1px solid var(--inv-border); overflow-wrap: anywhere; }
:host(.alert) ul, .banner ul { margin: 4px 0 0 18px; padding: 0; }
:host(.alert-danger), .banner.error { background: rgba(220, 38, 38, 0.10); border-color: rgba(220, 38, 38, 0.45); }
:host(.alert-warning), .banner.warning { background: rgba(245, 158, 11, 0.12); border-color: rgba(245, 158, 11, 0.5); }
:host(.alert-success), .banner.success { background: rgba(16, 185, 129, 0.12);
                                         border-color: rgba(16, 185, 129, 0.45); }
:host(.alert-info), .banner.info { background: color-mix(in srgb, var(--inv-accent) 10%, transparent);
                                   border-color: color-mix(in srgb, var(--inv-accent) 40%, transparent); }
.head { font-weight: 600; }
"""
)

# Every data table (items, low stock, audit log, an import's problems); a table adds rules of its own after it.
TABLE = """
.tabulator .tabulator-cell { padding: 7px 8px; }
.tabulator .tabulator-col-title { font-weight: 600; }
.tabulator-row.tabulator-selected .tabulator-cell { background: transparent; }
"""

TIMELINE = (
    BASE
    + """
.timeline { list-style: none; margin: 0; padding: 0 0 0 4px; }
.timeline li { position: relative; padding: 0 0 14px 18px; border-left: 2px solid var(--inv-border); }
.timeline li:last-child { border-left-color: transparent; }
.timeline li::before { content: ""; position: absolute; left: -6px; top: 3px; width: 10px; height: 10px;
                       border-radius: 50%; background: var(--inv-accent); }
.timeline .what { font-weight: 600; color: var(--inv-text); font-size: 14px; text-transform: capitalize; }
.timeline .meta { color: var(--inv-muted); font-size: 12px; margin: 1px 0 3px; }
.timeline .detail { color: var(--inv-text); font-size: 13px; line-height: 1.45; overflow-wrap: anywhere; }
.none { color: var(--inv-muted); font-size: 14px; }
"""
)
