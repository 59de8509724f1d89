"""``ImportView``: bulk-load items from a CSV file or a workbook (.xlsx, .xls, .ods) — check first, then import only
what the person confirmed.

The flow is a small state machine (``step``): choose a file -> checking (a dry run: every rule and database lookup,
nothing written) -> preview (counts, warnings, every rejected cell, the error file) -> importing (the real run) ->
done (counts, the error file). Changing the mode or the all-or-nothing option re-checks the file.

Both runs go through ``Inventory.import_csv`` in a worker thread (``asyncio.to_thread``) so a 16 MB file never
freezes the app: the engine's ``progress(stage, fraction, message)`` calls are throttled and handed back to the
event loop, which moves the progress bar and the parse -> validate -> write steps.

Uploads are always passed to the engine as bytes: a one-line ``str`` could be taken for a path on the server. The
engine tells a workbook from CSV by its content, so an .xlsx upload needs nothing more here.
The file arrives through ``BoundedFileDropper`` (``upload.py``), which enforces ``INVENTORY_MAX_UPLOAD_MB`` on the
server as chunks arrive; what the view holds (the upload, the report) is dropped when the session ends. What a
report says (counts, steps, problem rows, the summary sentence) is written in ``import_report.py``.

Over 400 lines because the view's state machine, its widgets and their bindings belong together; the report's
wording is in ``import_report.py`` and the upload limit in ``upload.py``.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from typing import Any

import pandas as pd
import panel as pn
import param

from ..errors import ImportRefusedError
from ..fields import FIELDS
from ..importing import ImportReport
from . import a11y, styles, widgets
from .component_root import component_root
from .formatting import esc, fmt_int
from .import_report import (
    CSS,
    ERROR_TITLES,
    ERROR_WIDTHS,
    MAX_SHOWN_ERRORS,
    counts_html,
    error_rows,
    import_button_label,
    problems_title,
    steps_html,
    summary_sentence,
)
from .messages import ALERT_TYPES, InlineMessages, notice_html
from .model import InventoryModel
from .notify import notify, report_error
from .upload import BoundedFileDropper

log = logging.getLogger(__name__)

STEPS = ("choose", "checking", "preview", "importing", "done")
# What the file picker offers. The engine tells CSV from a workbook by content, not by this list (``excel.py``).
ACCEPTED_FILETYPES = (
    ".csv",
    ".txt",
    ".tsv",
    ".xlsx",
    ".xls",
    ".ods",
    "text/csv",
    "text/plain",
    "text/tab-separated-values",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-excel",
    "application/vnd.oasis.opendocument.spreadsheet",
)
MODES = {"Add new items": "append", "Add or update by SKU": "upsert"}
MODE_HELP = {
    "append": "Every valid row becomes a new item. A row whose SKU is already used is rejected.",
    "upsert": "Rows are matched to items by SKU: a known SKU updates that item (quantity changes are recorded as "
    "stock movements), an unknown one adds an item. Every row needs a SKU.",
}
PROGRESS_INTERVAL = 0.1  # seconds between progress updates sent to the browser
PROGRESS_CSS = f":host {{ --primary-bg-color: var(--design-primary-color, {styles.ACCENT}); }}"
RUNNING = ("checking", "importing")


def running(step: str) -> bool:
    """Whether a check or an import is under way (the file and the options are locked meanwhile)."""
    return step in RUNNING


def shows_progress(step: str) -> bool:
    return step != "choose"


def percent(fraction: float) -> int:
    return round(fraction * 100)


def mode_help_html(mode: str) -> str:
    return f'<div class="muted">{MODE_HELP[mode]}</div>'


def upload_bytes(content: str | bytes) -> bytes:
    """An upload as bytes: FileDropper decodes text files to ``str`` (UTF-8), so encoding it back is lossless."""
    return content.encode("utf-8") if isinstance(content, str) else bytes(content)


class ImportView(pn.viewable.Viewer):
    """Template download, upload, options, dry-run preview, confirmed import with progress, result.

    Public parts: ``title``, ``template_csv`` and ``template_xlsx`` (downloads), ``dropper`` (the file drop area),
    ``banner`` (the outcome of the check or import), ``counts``, ``warnings``, ``errors`` (the rejected rows),
    ``import_button``, ``cancel_button``, ``again_button``, ``error_file`` (download of the rejected rows), ``result``
    (the box of all these) and ``messages``.
    """

    model = param.ClassSelector(class_=InventoryModel, doc="The session's shared state; told after an import.")
    step = param.Selector(default="choose", objects=list(STEPS), doc="Where the person is in the import flow.")
    mode = param.Selector(
        default="append",
        objects=list(MODES.values()),
        doc="append: only add items; upsert: match rows to items by SKU and update them.",
    )
    atomic = param.Boolean(default=False, doc="All or nothing: import only if every row is valid.")
    file_name = param.String(default=None, allow_None=True, doc="Name of the uploaded file.")
    report = param.ClassSelector(
        class_=ImportReport,
        default=None,
        allow_None=True,
        doc="The latest run's report: the dry run in preview, the real run when done.",
    )
    refusal = param.String(default=None, allow_None=True, doc="Why the file as a whole was refused, if it was.")
    progress = param.Number(default=0.0, bounds=(0.0, 1.0), doc="Fraction of the running check or import done.")
    stage = param.String(default=None, allow_None=True, doc="Stage of the running check or import.")

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.messages = InlineMessages()  # where a toast cannot show (messages.py)
        inventory = self.model.inventory
        self.settings = inventory.settings
        self.max_bytes = self.settings.max_upload_mb * 1_048_576
        self.allowed = inventory.user.can("import")
        self._source: bytes | None = None
        self._last_progress = 0.0
        self._message = ""  # the engine's latest progress message
        self.template_csv = widgets.download(
            self._template_file, "inventory_template.csv", "Download template", width=180, margin=(14, 10, 4, 10)
        )
        # The same template as a workbook: typed example rows, required columns marked, a hint per column.
        self.template_xlsx = widgets.download(
            self._template_xlsx_file, "inventory_template.xlsx", "Excel template", width=150, margin=(14, 10, 4, 0)
        )
        self.title = widgets.heading(
            '<div class="title">Import items from CSV</div><div class="sub">Check a file first — nothing is '
            "written until you confirm the import.</div>",
        )
        self._header = widgets.title_bar(self.title, self.template_csv, self.template_xlsx)
        if not self.allowed:
            user = inventory.user
            self._layout = pn.Column(
                self._header,
                pn.pane.HTML(
                    f'<div class="empty"><h2>Importing needs the editor role</h2><p>{esc(user.name)} is a '
                    f"{esc(user.role)} and may not import CSV files. Ask an administrator to add you to "
                    "INVENTORY_EDITORS or INVENTORY_ADMINS.</p></div>",
                    stylesheets=[styles.EMPTY],
                    sizing_mode="stretch_width",
                ),
                sizing_mode="stretch_width",
            )
            return
        self._build()

    # -- layout ---------------------------------------------------------------------------------------------------

    def _build(self) -> None:
        limit = self.settings.max_upload_mb
        locked = pn.bind(running, self.param.step)
        self.dropper = BoundedFileDropper(
            accepted_filetypes=list(ACCEPTED_FILETYPES),
            max_bytes=self.max_bytes,
            max_file_size=f"{self.max_bytes // 1000}KB",
            layout="compact",
            sizing_mode="stretch_width",
            margin=(4, 0),
            disabled=locked,
        )
        self.dropper.param.watch(self._on_upload, "value")
        self.dropper.param.watch(self._on_refused, "refused")
        if pn.state.curdoc is not None:  # served: a closed page must not keep an upload or a report alive
            pn.state.on_session_destroyed(self._release)
        required = ", ".join(f"<code>{f.name}</code>" for f in FIELDS if f.required)
        optional = ", ".join(f"<code>{f.name}</code>" for f in FIELDS if not f.required)
        self._file_help = pn.pane.HTML(
            f'<div class="intro"><div class="muted">CSV or Excel (.xlsx, .xls, .ods: the first sheet) up to '
            f"<b data-limit>{limit} MB</b>; CSV comma, semicolon or tab separated, UTF-8 or Windows-1252.</div>"
            f'<div class="muted">Required columns: {required}. '
            f"Optional: {optional}.</div></div>",
            stylesheets=[CSS],
            sizing_mode="stretch_width",
            margin=(0, 0),
        )
        choose = pn.Column(
            pn.pane.HTML('<div class="section">1 · Choose a file</div>', stylesheets=[CSS], margin=(0, 0)),
            self.dropper,
            self._file_help,
            styles={**styles.CARD_BOX, **widgets.grows(360, 3)},
            sizing_mode="stretch_width",
            margin=(6, 10),
        )
        self._mode = pn.widgets.RadioButtonGroup.from_param(
            self.param.mode, name="", options=MODES, color="primary", variant="outline", margin=(6, 0), disabled=locked
        )
        self._mode_help = pn.pane.HTML(
            pn.bind(mode_help_html, self.param.mode), stylesheets=[CSS], sizing_mode="stretch_width", margin=(0, 0)
        )
        self._atomic = a11y.labelled_checkbox(
            self, "atomic", "All or nothing: import only if every row is valid", margin=(8, 0), disabled=locked
        )
        options = pn.Column(
            pn.pane.HTML('<div class="section">2 · Options</div>', stylesheets=[CSS], margin=(0, 0)),
            self._mode,
            self._mode_help,
            self._atomic,
            # Beside the file's card while both fit, else under it (the two cards wrap), never wider than the window.
            styles={**styles.CARD_BOX, **widgets.grows(340, 1, 460)},
            sizing_mode="stretch_width",
            margin=(6, 10),
        )

        self._bar = pn.indicators.Progress(
            value=pn.bind(percent, self.param.progress),
            max=100,
            bar_color="primary",
            sizing_mode="stretch_width",
            height=14,
            margin=(6, 0),
            stylesheets=[PROGRESS_CSS],
        )
        self._steps = pn.pane.HTML("", stylesheets=[CSS], sizing_mode="stretch_width", margin=(0, 0))
        self._progress_box = pn.Column(
            self._steps,
            self._bar,
            sizing_mode="stretch_width",
            margin=(4, 10),
            visible=pn.bind(shows_progress, self.param.step),
        )

        self.banner = pn.pane.Alert("", stylesheets=[styles.BANNER], sizing_mode="stretch_width", margin=(4, 10))
        self.counts = pn.pane.HTML("", stylesheets=[CSS], sizing_mode="stretch_width", margin=(4, 10))
        self.warnings = pn.pane.Alert(
            "", alert_type="warning", stylesheets=[styles.BANNER], sizing_mode="stretch_width", margin=(4, 10)
        )
        self._errors_head = pn.pane.HTML("", stylesheets=[CSS], sizing_mode="stretch_width", margin=(8, 10, 0, 10))
        self.errors = widgets.paged_table(
            pd.DataFrame(columns=list(ERROR_TITLES)),
            titles=ERROR_TITLES,
            widths=ERROR_WIDTHS,
            page_size=10,
            layout="fit_data_stretch",
            # The problem wraps (Tabulator's textarea formatter escapes as plaintext does): a long reason was cut off
            # at the column's edge.
            formatters={c: {"type": "textarea" if c == "message" else "plaintext"} for c in ERROR_TITLES},
            text_align={"row": "right"},
            stylesheets=[styles.TABLE],
            margin=(4, 10),
        )
        self.import_button = pn.widgets.Button(label="Import", color="primary", width=220, margin=(8, 10))
        self.import_button.on_click(self._on_confirm)
        self.cancel_button = pn.widgets.Button(label="Cancel", color="light", width=110, margin=(8, 10))
        self.cancel_button.on_click(lambda _e: self.reset())
        self.again_button = pn.widgets.Button(label="Import another file", color="default", width=180, margin=(8, 10))
        self.again_button.on_click(lambda _e: self.reset())
        self.error_file = widgets.download(
            self._error_file_content, "import_errors.csv", "Download error file", width=190, margin=(8, 10)
        )
        self._actions = widgets.toolbar(self.import_button, self.cancel_button, self.error_file, self.again_button)
        self.result = pn.Column(
            self.banner,
            self.counts,
            self.warnings,
            self._actions,
            self._errors_head,
            self.errors,
            sizing_mode="stretch_width",
            margin=0,
        )
        self._layout = pn.Column(
            self._header,
            widgets.toolbar(choose, options, align_items="stretch"),
            self._progress_box,
            self.result,
            sizing_mode="stretch_width",
        )
        self._render()

    # -- flow -----------------------------------------------------------------------------------------------------

    def load(self, content: str | bytes, file_name: str | None) -> None:
        """Take an uploaded file and check it (a dry run); nothing is written."""
        self._source = upload_bytes(content)
        self.file_name = file_name
        pn.state.execute(self.check)

    def reset(self) -> None:
        """Back to choosing a file; forgets the upload and the last report, and the picker shows no file."""
        self._source = None
        if self.allowed:
            self.dropper.clear()
        self.param.update(step="choose", report=None, refusal=None, file_name=None, progress=0.0, stage=None)

    async def check(self) -> None:
        """The dry run: every check, nothing written; shows the preview."""
        if self._source is None or self.step in ("checking", "importing"):
            return
        while True:
            source = self._source
            self.param.update(step="checking", report=None, refusal=None, progress=0.0, stage="parse")
            report = await self._run(source, dry_run=True)
            if self._source is source or self._source is None:
                break  # else another file arrived during the check: check that one instead
        self.param.update(step="preview" if report is not None or self.refusal else "choose", report=report)
        if report is not None:
            # The result banner says it beside the import's steps: no toast repeats it.
            notify("info", f"Check finished, nothing written yet. {summary_sentence(report)}", shown=True)

    async def confirm(self) -> None:
        """The real import of the previewed file with the previewed options; then every view reloads."""
        if self._source is None or self.step != "preview" or self.report is None:
            return
        self.param.update(step="importing", refusal=None, progress=0.0, stage="parse")
        report = await self._run(self._source, dry_run=False)
        if report is None:
            self.param.update(step="preview" if self.refusal else "choose")
            return
        self.param.update(step="done", report=report)
        notify("success" if report.ok else "warning", summary_sentence(report), shown=True)
        self.model.changed()

    async def _run(self, source: bytes, *, dry_run: bool) -> ImportReport | None:
        loop = asyncio.get_running_loop()
        self._last_progress = 0.0

        def progress(stage: str, fraction: float, message: str) -> None:  # runs in the worker thread
            now = time.monotonic()
            if fraction < 1.0 and now - self._last_progress < PROGRESS_INTERVAL:
                return
            self._last_progress = now
            loop.call_soon_threadsafe(self._show_progress, stage, fraction, message)

        action = "Checking the file" if dry_run else "Importing the file"
        try:
            return await asyncio.to_thread(
                self.model.inventory.import_csv,
                source,
                mode=self.mode,
                atomic=self.atomic,
                dry_run=dry_run,
                progress=progress,
                max_bytes=self.max_bytes,
                file_name=self.file_name,
            )
        except ImportRefusedError as exc:
            log.info("import refused: %s", exc)
            self.refusal = str(exc)
            notify("error", f"{action} failed: the file was refused. {exc}", shown=True)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message; details in the log
            report_error(action, exc)
        return None

    def _show_progress(self, stage: str, fraction: float, message: str) -> None:
        if self.step in ("checking", "importing"):
            self._message = message
            self.param.update(progress=min(max(fraction, 0.0), 1.0), stage=stage)
            self._steps.object = steps_html(stage, message)

    # -- reactions ------------------------------------------------------------------------------------------------

    def _on_upload(self, event: param.parameterized.Event) -> None:
        files = event.new or {}
        if not files:
            self.reset()
            return
        name = list(files)[-1]  # a new file replaces the previous one (single-file dropper)
        self.load(files[name], name)

    def _on_refused(self, event: param.parameterized.Event) -> None:
        """An upload refused while it arrived (too large): shown like a file the engine refused."""
        if not event.new or self.step in ("checking", "importing"):
            return
        self._source = None
        self.param.update(step="preview", report=None, refusal=event.new, file_name=None, progress=0.0, stage=None)
        notify("error", f"The upload was refused: {event.new}", shown=True)

    def _release(self, session_context: Any) -> None:
        """The session ended: drop the upload, its unfinished chunks and the report, without re-rendering."""
        del session_context  # bokeh passes it; nothing of it is needed
        self.dropper.release()
        self._source = None
        with param.parameterized.discard_events(self.dropper):
            self.dropper.value = {}
        with param.parameterized.discard_events(self):
            self.report = None

    def _on_confirm(self, _event: Any) -> None:
        pn.state.execute(self.confirm)

    @param.depends("mode", "atomic", watch=True)
    def _options_changed(self) -> None:
        if self.step in ("preview", "done") and self._source is not None:
            self.step = "choose"  # a finished import is not repeated by changing an option: check again first
            pn.state.execute(self.check)

    @param.depends("step", "report", "refusal", watch=True)
    def _render(self) -> None:
        if not self.allowed:
            return
        step, report = self.step, self.report
        if step == "done" or (step == "preview" and report is not None):
            self._steps.object = steps_html(None, self._message, finished=True)
        self._render_result(step, report)

    def _render_result(self, step: str, report: ImportReport | None) -> None:
        shown = step in ("preview", "done") and (report is not None or self.refusal is not None)
        self.result.visible = shown
        if not shown:
            return
        name = f"<b>{esc(self.file_name)}</b>: " if self.file_name else ""
        if report is None:  # refused as a whole
            self.banner.param.update(
                alert_type=ALERT_TYPES["error"],
                object=(
                    f'<div role="alert"><div class="head">{name}the file was refused; nothing was imported.</div>'
                    f"{esc(self.refusal)}</div>"
                ),
            )
            self.counts.object = self._errors_head.object = ""
            self.errors.visible = self.warnings.visible = self.import_button.visible = self.error_file.visible = False
            self.cancel_button.visible, self.again_button.visible = False, True
            self.again_button.label = "Choose another file"
            return
        if report.ok:
            kind = "success" if step == "done" else "info"
        else:
            kind = "error" if step == "done" and report.atomic else "warning"
        head = "Check finished — nothing has been written yet." if step == "preview" else "Import finished."
        self.banner.param.update(
            alert_type=ALERT_TYPES[kind],
            object=(f'<div role="status"><div class="head">{head}</div>{name}{esc(summary_sentence(report))}</div>'),
        )
        self.counts.object = counts_html(report)
        self.warnings.param.update(object=notice_html("", report.warnings), visible=bool(report.warnings))
        importable = report.inserted + report.updated
        self.import_button.visible = self.cancel_button.visible = step == "preview"
        self.import_button.disabled = importable == 0
        self.import_button.label = import_button_label(importable)
        self.again_button.visible = step == "done"
        self.again_button.label = "Import another file"
        self.error_file.visible = report.skipped > 0
        shown_errors = min(len(report.errors), MAX_SHOWN_ERRORS)
        self.errors.visible = shown_errors > 0
        if shown_errors:
            cut = report.error_file is not None and report.error_file.omitted > 0
            has = "the first rejected rows (it was cut, see above)" if cut else "every rejected row"
            more = (
                f" Showing the first {fmt_int(shown_errors)} of {fmt_int(len(report.errors))}; the error file "
                f"has {has}."
                if len(report.errors) > shown_errors
                else ""
            )
            self._errors_head.object = (
                f'<div class="section">{problems_title(report)}</div>'
                f'<div class="muted">Row numbers are the ones a spreadsheet shows (the '
                f"header is row 1).{more}</div>"
            )
            self.errors.value = error_rows(report)
        else:
            self._errors_head.object = ""

    # -- files ----------------------------------------------------------------------------------------------------

    def _template_file(self) -> io.StringIO:
        return io.StringIO(self.model.inventory.template_csv())

    def _template_xlsx_file(self) -> io.BytesIO:
        return io.BytesIO(self.model.inventory.template_xlsx())

    def _error_file_content(self) -> io.StringIO:
        if self.report is None:
            return io.StringIO("")
        try:
            return io.StringIO(self.report.error_csv())
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message; details in the log
            report_error("Preparing the error file", exc)
            return io.StringIO("")

    def __panel__(self) -> pn.viewable.Viewable:
        return component_root(self._layout, self.messages)
