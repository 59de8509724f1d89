"""``DashboardView``: the Databricks AI/BI dashboard in an iframe when configured, otherwise how to configure it.

The URL, the configuration problem and the publish check come from the view's ``source`` (``ui/plugins.py``; the
Databricks one, ``databricks/dashboard.py``, is plugged in by ``databricks/wiring.py``), never with a token: the
viewer's own Databricks sign-in authorises the embed. The URL is escaped into the ``src`` attribute and the iframe is
sandboxed to what an AI/BI dashboard needs. Whether the dashboard is published is asked in a worker thread once the
view is first shown, so a slow or unreachable workspace never holds up the app, and hidden tabs never ask; on behalf
of the user when ``INVENTORY_ON_BEHALF_OF_USER`` is on (the source's ``session_token``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import panel as pn
import param

from ..settings import Settings
from . import styles, widgets
from .component_root import component_root
from .formatting import esc
from .messages import InlineMessages
from .model import InventoryModel
from .plugins import DashboardSource, DashboardStatus, dashboard_source

log = logging.getLogger(__name__)

IFRAME_HEIGHT = 860
# Scripts and same-origin for the dashboard's own sign-in cookies; popups so its links open in a new tab.
SANDBOX = "allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox allow-forms allow-downloads"
VARIABLES = (
    (
        "DATABRICKS_HOST",
        "databricks_host",
        "The workspace URL, e.g. https://adb-1234567890123456.7.azuredatabricks.net"
        " (set automatically for a Databricks App).",
    ),
    ("DATABRICKS_WORKSPACE_ID", "workspace_id", "The numeric workspace ID (the o= number in workspace URLs)."),
    ("DASHBOARD_ID", "dashboard_id", "The ID of a published AI/BI dashboard (from its URL: /dashboardsv3/<ID>)."),
)
STATUS_KINDS = {"published": "success", "not_published": "warning", "unknown": "info", "not_configured": "warning"}
# The SDK's reasons for not being able to ask are long and technical: they go to the log, the page says this.
UNKNOWN_STATUS = (
    "The workspace could not be asked whether this dashboard is published. If the frame stays empty, "
    "check that the dashboard is published and that embedding is allowed for this app "
    "(docs/databricks.md)."
)

GUIDE_CSS = (
    styles.BASE
    + """
.guide { max-width: 880px; margin: 8px auto 24px; padding: 22px 26px; border-radius: 12px;
         border: 1px solid var(--inv-border); background: var(--inv-surface); color: var(--inv-text);
         font-size: 14px; line-height: 1.5; }
.guide h2 { margin: 0 0 6px; font-size: 20px; font-weight: 600; }
.guide p { margin: 8px 0; }
.guide .muted { color: var(--inv-muted); }
.guide table { border-collapse: collapse; width: 100%; margin: 12px 0; }
.guide td:first-child { white-space: nowrap; }
.guide th, .guide td { text-align: left; padding: 8px 10px; border-bottom: 1px solid var(--inv-border);
                       vertical-align: top; }
.guide th { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--inv-muted); }
.guide code { background: color-mix(in srgb, var(--inv-text) 8%, transparent); padding: 1px 5px; border-radius: 4px;
              font-size: 13px; overflow-wrap: anywhere; }
.guide pre { background: color-mix(in srgb, var(--inv-text) 6%, transparent); padding: 12px 14px;
             border-radius: 8px; font-size: 13px; overflow-x: auto; margin: 8px 0; }
.guide .set { color: var(--inv-ok); font-weight: 600; white-space: nowrap; }
.guide .missing { color: var(--inv-low); font-weight: 600; white-space: nowrap; }
.guide .problem { border-left: 4px solid #f59e0b; padding: 6px 12px;
                  background: rgba(245, 158, 11, 0.10); border-radius: 6px; }
"""
)
FRAME_CSS = """
:host { display: block; }
iframe { width: 100%; height: 100%; border: 1px solid rgba(0,0,0,0.12); border-radius: 10px; background: white; }
"""
LINK_CSS = (
    styles.BASE
    + """
.links { text-align: right; font-size: 13px; line-height: 32px; white-space: nowrap; }
.links a { color: var(--inv-accent); font-weight: 600; text-decoration: none; }
.links a:hover { text-decoration: underline; }
"""
)


def iframe_html(url: str) -> str:
    """The sandboxed iframe for ``url`` (escaped); only http(s) URLs are embedded."""
    if not url.lower().startswith(("https://", "http://")):
        raise ValueError(f"refusing to embed a non-http(s) URL: {url!r}")
    return (
        f'<iframe src="{esc(url)}" title="Databricks AI/BI dashboard" sandbox="{SANDBOX}" '
        'referrerpolicy="strict-origin-when-cross-origin" allow="fullscreen" loading="lazy"></iframe>'
    )


def guide_html(settings: Settings, problem: str | None) -> str:
    """How to configure the dashboard: the three variables, which are set, what is wrong (``problem``), where to read
    more."""
    rows = []
    for name, attr, help_text in VARIABLES:
        value = getattr(settings, attr)
        state = (
            f'<span class="set">Set</span><br><code>{esc(value)}</code>'
            if value
            else '<span class="missing">Not set</span>'
        )
        rows.append(f"<tr><td><code>{name}</code></td><td>{esc(help_text)}</td><td>{state}</td></tr>")
    problem_html = f'<p class="problem">{esc(problem)}</p>' if problem else ""
    return (
        '<div class="guide"><h2>Connect a Databricks AI/BI dashboard</h2>'
        '<p class="muted">This tab shows a published Databricks AI/BI (Lakeview) dashboard next to the inventory. '
        "No dashboard is configured for this app yet.</p>"
        f"{problem_html}"
        "<p>Set these environment variables and restart the app:</p>"
        "<table><thead><tr><th>Variable</th><th>What it is</th><th>Now</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        "<p>Deployed as a Databricks App, add them to <code>app.yaml</code>:</p>"
        '<pre>env:\n  - name: DASHBOARD_ID\n    value: "01ef…"\n  - name: DATABRICKS_WORKSPACE_ID\n'
        '    value: "1234567890123456"</pre>'
        '<p class="muted">The dashboard is shown with each viewer\'s own Databricks sign-in; no token is ever put '
        "in the page. The workspace must allow embedding for the app's domain (Settings → Security → Embed "
        "dashboards). Step-by-step instructions: <code>docs/databricks.md</code>.</p></div>"
    )


class DashboardView(pn.viewable.Viewer):
    """The embedded dashboard, or a guide to configuring it.

    Public parts (when a dashboard is configured): ``frame`` (the embedded dashboard), ``notice`` (why it may not show)
    and ``messages``.
    """

    model = param.ClassSelector(class_=InventoryModel, doc="The session's shared state (its settings: the dashboard).")
    active = param.Boolean(default=True, doc="Whether the view is on screen; the publish check waits for it.")
    status = param.ClassSelector(
        class_=DashboardStatus,
        default=None,
        allow_None=True,
        doc="Whether the workspace reports the dashboard as published (None: not asked).",
    )
    source = param.Parameter(
        default=None,
        doc=(
            "Where the dashboard is and whether it is published (ui/plugins.DashboardSource). Default: the one plugged "
            "in (the Databricks AI/BI dashboard, databricks/wiring.py), else none."
        ),
    )

    def __init__(self, **params: Any):
        super().__init__(**params)
        if self.source is None:
            self.source = dashboard_source()
        source: DashboardSource = self.source
        self.messages = InlineMessages()  # where a toast cannot show (messages.py)
        self.settings: Settings = self.model.inventory.settings
        self.url = source.embed_url(self.settings)
        self._checking = False
        # On behalf of the user: their forwarded token, read from this session's request now, kept on the server.
        self._user_token = source.session_token(self.settings) if self.url is not None else None
        if self.url is None:
            guide = guide_html(self.settings, source.configuration_problem(self.settings))
            self._layout = pn.Column(
                pn.pane.HTML(guide, stylesheets=[GUIDE_CSS], sizing_mode="stretch_width"), sizing_mode="stretch_width"
            )
            return
        title = widgets.heading(
            '<div class="title">Dashboard</div><div class="sub">Databricks AI/BI dashboard '
            f"<b>{esc(self.settings.dashboard_id)}</b>, shown with your own Databricks sign-in.</div>",
        )
        links = pn.pane.HTML(
            f'<div class="links"><a href="{esc(self.url)}" target="_blank" '
            'rel="noopener noreferrer">Open in a new tab ↗</a></div>',
            stylesheets=[LINK_CSS],
            width=200,
            margin=(14, 10, 4, 10),
        )
        self.notice = pn.pane.HTML(
            "", stylesheets=[styles.BANNER], sizing_mode="stretch_width", margin=(4, 10), visible=False
        )
        self.frame = pn.pane.HTML(
            iframe_html(self.url),
            stylesheets=[FRAME_CSS],
            sizing_mode="stretch_width",
            height=IFRAME_HEIGHT,
            margin=(4, 10),
        )
        self._layout = pn.Column(widgets.title_bar(title, links), self.notice, self.frame, sizing_mode="stretch_width")
        # Not at construction: an app marks its hidden tabs inactive before the page loads.
        pn.state.onload(self._start_check)

    @param.depends("active", watch=True)
    def _start_check(self) -> None:
        if not self.active or self.url is None or self.status is not None or self._checking:
            return
        self._checking = True
        pn.state.execute(self.check_published)

    async def check_published(self) -> None:
        """Ask the workspace whether the dashboard is published (in a thread: the SDK call may take seconds)."""
        try:
            self.status = await asyncio.to_thread(self.source.published_status, self.settings, self._user_token)
        finally:
            self._checking = False

    @param.depends("status", watch=True)
    def _render_status(self) -> None:
        status = self.status
        if status is None or status.published:
            self.notice.visible = False
            return
        kind = STATUS_KINDS.get(status.state, "info")
        message = status.message
        if status.state == "unknown":
            log.info("dashboard status unknown: %s", status.message)
            message = UNKNOWN_STATUS
        self.notice.object = f'<div class="banner {kind}" role="status">{esc(message)}</div>'
        self.notice.visible = True

    def __panel__(self) -> pn.viewable.Viewable:
        return component_root(self._layout, self.messages)
