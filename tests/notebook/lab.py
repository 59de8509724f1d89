"""A real JupyterLab driven by headless Chromium, with no network: the harness of the notebook tests.

``JupyterLab`` runs ``jupyter lab`` in a subprocess on 127.0.0.1 (random port, a token, no browser, a temporary
root dir and private settings/workspace/runtime dirs, so nothing of the user's Jupyter setup leaks in) and keeps
its stderr, which is also the stderr of every kernel it starts: errors raised in comm handlers land there.

``LabSession`` is one notebook in one browser page: ``JupyterLab.open(cells)`` writes the notebook with nbformat,
opens it in a fresh Chromium context and starts a fresh kernel for it. The page's requests for the CDN copies of
Bokeh's and Panel's JavaScript/CSS (cdn.bokeh.org, cdn.holoviz.org, and the bundled third-party resources Panel
rewrites to them) are answered from the installed wheels' static files; any other request that leaves
127.0.0.1 is aborted and recorded, and ``LabSession.check()`` fails on it, on page errors, console errors, error
or stderr cell outputs and on error lines in the server/kernel log written while the session ran.
"""

from __future__ import annotations

import contextlib
import json
import mimetypes
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import bokeh
import nbformat
import panel

from tests.support.postgres import free_port

BOKEH_STATIC = Path(bokeh.__file__).parent / "server" / "static"
PANEL_DIST = Path(panel.__file__).parent / "dist"
START_TIMEOUT = 90.0

# Kernel/server log lines that mean something went wrong. Tornado's access log and Jupyter's INFO lines don't.
LOG_ERROR = re.compile(r"Traceback \(most recent call last\)|\bERROR\b|\[E |Exception|Models must be owned")

# JupyterLab's own console noise that says nothing about the page under test.
BENIGN_CONSOLE = (
    "Failed to load resource: the server responded with a status of 404",  # lab probes optional files
)


def cdn_file(url: str) -> Path | None:
    """The installed file that a CDN URL of Bokeh or Panel stands for, or None if it is not one of theirs."""
    parts = urlsplit(url)
    path = unquote(parts.path)
    if parts.netloc == "cdn.bokeh.org":
        # /bokeh/release/bokeh-widgets-3.9.2.min.js -> js/bokeh-widgets.min.js
        match = re.fullmatch(r"/bokeh/(?:release|dev)/([a-z-]+?)-\d[\w.+-]*?(\.min)?\.(js|css)", path)
        if match:
            name, minified, ext = match.groups()
            return BOKEH_STATIC / ext / f"{name}{minified or ''}.{ext}"
        return None
    if parts.netloc == "cdn.holoviz.org":
        # /panel/1.9.4/dist/<anything> -> panel/dist/<anything>
        match = re.fullmatch(r"/panel/[^/]+/dist/(.+)", path)
        return PANEL_DIST / match.group(1) if match else None
    return None


@dataclass
class LabSession:
    """One notebook open in JupyterLab in its own browser context, with everything that went wrong in it."""

    lab: JupyterLab
    name: str
    context: Any
    page: Any
    log_start: int
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    served: list[str] = field(default_factory=list)

    # --- driving -------------------------------------------------------------------------------------------

    def run_all(self, timeout: float = 60.0) -> None:
        """Run every cell (Run → Run All Cells) and wait until the kernel has executed them all."""
        self.wait_for_kernel_idle(timeout)
        self.page.click("#jp-MainMenu .lm-MenuBar-item:has-text('Run')")
        self.page.click(".lm-Menu-item:has-text('Run All Cells')")
        self.wait_until_executed(timeout)

    def add_cell_and_run(self, source: str, timeout: float = 30.0) -> None:
        """Append a code cell at the end of the notebook (the footer's "Click to add a cell"), type ``source``
        into its editor and run it (Ctrl+Enter: Shift+Enter would add an empty cell after the last one)."""
        cells = self.page.locator(".jp-Notebook .jp-Cell")
        count = cells.count()
        self.page.get_by_role("button", name="Click to add a cell.").click()
        new = cells.nth(count)
        new.wait_for()
        editor = new.locator(".cm-content")
        editor.click()
        self.page.keyboard.insert_text(source)
        expect_text = source.splitlines()[0]
        deadline = time.monotonic() + 5
        while expect_text not in editor.inner_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.page.keyboard.press("Control+Enter")
        self.wait_until_executed(timeout)

    def wait_for_kernel_idle(self, timeout: float = 60.0) -> None:
        """Wait until the status bar says a Python kernel is attached and idle."""
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                text = self.page.locator("#jp-main-statusbar").inner_text(timeout=1000)
                if re.search(r"Python 3.*\|\s*Idle", text):
                    return
            time.sleep(0.2)
        raise AssertionError(
            f"no idle kernel for {self.name} within {timeout:.0f} s (status {text!r})\n{self.report()}"
        )

    def wait_until_executed(self, timeout: float = 60.0) -> None:
        """Wait until no code cell is queued or running and every code cell has an execution count."""
        deadline = time.monotonic() + timeout
        prompts: list[str] = []
        while time.monotonic() < deadline:
            prompts = self.page.eval_on_selector_all(
                ".jp-Notebook .jp-CodeCell .jp-InputArea-prompt", "els => els.map(e => e.textContent.trim())"
            )
            if prompts and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts):
                return
            time.sleep(0.2)
        raise AssertionError(f"cells not executed within {timeout:.0f} s (prompts {prompts})\n{self.report()}")

    def output(self, index: int) -> Any:
        """The output area of the ``index``-th code cell (0-based), as a Playwright locator."""
        return self.page.locator(".jp-Notebook .jp-CodeCell").nth(index).locator(".jp-OutputArea")

    # --- checking ------------------------------------------------------------------------------------------

    def cell_errors(self) -> list[str]:
        """Text of every error traceback or stderr stream shown in a cell's output."""
        return self.page.eval_on_selector_all(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
            "els => els.map(e => e.textContent)",
        )

    def log(self) -> str:
        """What the server and its kernels wrote to stderr since this session opened."""
        return self.lab.log()[self.log_start :]

    def log_errors(self) -> list[str]:
        return [line for line in self.log().splitlines() if LOG_ERROR.search(line)]

    def problems(self) -> dict[str, list[str]]:
        return {
            "page errors": self.page_errors,
            "console errors": self.console_errors,
            "external requests (blocked)": self.blocked,
            "cell errors/stderr": self.cell_errors(),
            "server/kernel log errors": self.log_errors(),
        }

    def report(self) -> str:
        found = {k: v for k, v in self.problems().items() if v}
        return json.dumps(found, indent=1) + "\n--- server/kernel log ---\n" + self.log()[-6000:]

    def check(self) -> None:
        """Fail unless nothing went wrong: no page/console error, no network, no error output or log line."""
        if any(self.problems().values()):
            raise AssertionError(f"{self.name} had problems:\n{self.report()}")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.context.close()
        self.lab.shutdown_kernels()


class JupyterLab:
    """``jupyter lab`` in a subprocess on a random local port, and the Chromium that looks at it."""

    def __init__(self, root: Path, browser: Any, env: dict[str, str] | None = None):
        self.root = root
        self.browser = browser
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        private = root.parent / f"{root.name}-jupyter"
        settings = private / "settings"
        # No news/update check: the pop-up would cover cells, and it would go to the network.
        notif = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        notif.parent.mkdir(parents=True, exist_ok=True)
        notif.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        full_env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(private / "config"),
            "JUPYTER_RUNTIME_DIR": str(private / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(private / "workspaces"),
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        full_env.pop("DATABRICKS_RUNTIME_VERSION", None)
        full_env.update(env or {})
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--port-retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.open_browser=False",
            "--allow-root",
            "--LabApp.extension_manager=readonly",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--ServerApp.log_level=WARN",
        ]
        self.log_path = private / "server.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            cmd, cwd=root, env=full_env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            self._wait_until_ready()
        except BaseException:
            self.close()
            raise

    def _api(self, path: str, method: str = "GET") -> Any:
        request = urllib.request.Request(
            f"{self.base}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.process.returncode}:\n{self.log()}")
            try:
                self._api("/api/status")
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.25)
        raise RuntimeError(f"jupyter lab did not answer within {START_TIMEOUT:.0f} s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def write_notebook(self, name: str, cells: Iterable[str]) -> Path:
        notebook = nbformat.v4.new_notebook()
        notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        path = self.root / name
        nbformat.write(notebook, path)
        return path

    def open(self, cells: Iterable[str], name: str | None = None) -> LabSession:
        """Write a notebook of ``cells``, open it in a fresh browser context and wait for its fresh kernel."""
        name = name or f"case-{secrets.token_hex(4)}.ipynb"
        self.write_notebook(name, cells)
        context = self.browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        session = LabSession(self, name, context, page, log_start=len(self.log()))
        context.route("**/*", lambda route: self._answer(session, route))
        page.on("pageerror", lambda exc: session.page_errors.append(str(exc)))
        page.on("console", lambda msg: self._console(session, msg))
        # A workspace of its own, reset: the layout of an earlier case (its notebook tab) is not restored.
        workspace = Path(name).stem
        page.goto(
            f"{self.base}/lab/workspaces/{workspace}/tree/{name}?reset&token={self.token}",
            wait_until="domcontentloaded",
        )
        page.locator(".jp-Notebook .jp-CodeCell").first.wait_for(timeout=60_000)
        session.wait_for_kernel_idle()
        return session

    def _answer(self, session: LabSession, route: Any) -> None:
        url = route.request.url
        host = urlsplit(url).netloc
        if host == f"127.0.0.1:{self.port}" or url.startswith(("data:", "blob:")):
            route.continue_()
            return
        local = cdn_file(url)
        if local is not None and local.is_file():
            session.served.append(url)
            ctype = mimetypes.guess_type(local.name)[0] or "application/octet-stream"
            route.fulfill(
                status=200, body=local.read_bytes(), headers={"Content-Type": ctype, "Access-Control-Allow-Origin": "*"}
            )
            return
        session.blocked.append(url)
        route.abort()

    @staticmethod
    def _console(session: LabSession, msg: Any) -> None:
        if msg.type == "error" and not any(text in msg.text for text in BENIGN_CONSOLE):
            session.console_errors.append(msg.text)

    def shutdown_kernels(self) -> None:
        with contextlib.suppress(Exception):
            for kernel in self._api("/api/kernels"):
                self._api(f"/api/kernels/{kernel['id']}", method="DELETE")
            for session in self._api("/api/sessions"):
                self._api(f"/api/sessions/{session['id']}", method="DELETE")

    def close(self) -> None:
        if self.process.poll() is None:
            self.shutdown_kernels()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self._log.close()
