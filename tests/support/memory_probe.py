"""One memory-hungry operation in its own process and the peak RSS it reached (tests/integration/test_memory_bounds.py).

``python -m tests.support.memory_probe <case> ...`` prints one JSON line: ``baseline_mb`` (RSS once everything is
imported and warmed up, just before the operation), ``peak_mb`` (the peak RSS from then on: ``VmHWM`` after a
reset through ``/proc/self/clear_refs``, else the process's ``ru_maxrss``) and case-specific figures. Cases:

- ``write-csv wide|rejected|oneline MB OUT``: write a generated CSV of about MB megabytes (no measuring);
- ``cli-import DB_URL FILE [ERRORS_OUT]``: ``inventory-panel import FILE [--errors-out ERRORS_OUT]`` in-process;
- ``upload unfinished|oversize|close``: uploads sent to the Import view's file dropper chunk by chunk, as the
  browser sends them over the websocket (``upload_event`` with chunk, total_chunks, name, type and the bytes);
- ``message-buffers``: one websocket message announcing 60 binary buffers of 4 MB, fed to Bokeh's receiver.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import math
import resource
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psutil

MB = 1_048_576
HEADER = "item_name,category,quantity,unit_price,sku\n"


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / MB


def reset_peak() -> float:
    """Forget the peak so far (Linux: ``/proc/self/clear_refs``), so start-up does not count; the RSS now."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    return rss_mb()


def peak_mb() -> float:
    """The peak RSS since :func:`reset_peak` (``VmHWM``), else since the process started (``ru_maxrss``)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def write_csv(kind: str, megabytes: float, out: str) -> None:
    """``wide``: every row has 5,000 extra cells. ``rejected``: every row fails validation (quantity -1).
    ``oneline``: one valid row, then a single line of MB megabytes of cells (no line break in it)."""
    target = int(megabytes * MB)
    with open(out, "w", encoding="utf-8", newline="") as fh:
        fh.write(HEADER)
        if kind == "oneline":
            fh.write("Drill,Tools,1,2.50,D-1\n")
            block = ",ab" * (MB // 3)
            for _ in range(int(megabytes)):
                fh.write(block)
            fh.write("\n")
            return
        written, i = len(HEADER), 0
        extra = ",ab" * 5000
        while written < target:
            if kind == "wide":
                line = f"Item {i},Tools,1,2.50,W-{i}{extra}\n"
            else:
                line = f"Rejected item number {i} with a longer name,Tools,-1,2.50,R-{i:09d}\n"
            fh.write(line)
            written += len(line)
            i += 1


def cli_import(db_url: str, path: str, errors_out: str | None) -> dict[str, Any]:
    from inventory_panel import cli

    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["--database-url", db_url, "init-db"]) == 0
    gc.collect()
    baseline = reset_peak()
    args = ["--database-url", db_url, "import", path]
    if errors_out:
        args += ["--errors-out", errors_out]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(args)
    result: dict[str, Any] = {
        "baseline_mb": baseline,
        "peak_mb": peak_mb(),
        "status": status,
        "stdout_head": out.getvalue()[:2000],
        "stderr_head": err.getvalue()[:2000],
    }
    if errors_out:
        result["errors_out_bytes"] = Path(errors_out).stat().st_size
    return result


def _event(name: str, chunk: int, total: int, data: bytes) -> SimpleNamespace:
    """What Panel hands ``FileDropper._process_event`` for one chunk the browser sent."""
    return SimpleNamespace(
        event_name="upload_event",
        data={"chunk": chunk, "data": data, "name": name, "total_chunks": total, "type": "text/csv"},
    )


def _send(dropper: Any, name: str, size: int, chunks: int | None = None) -> None:
    """Send a file of ``size`` bytes as the browser does, stopping after ``chunks`` chunks when given."""
    chunk_size = dropper.chunk_size
    total = math.ceil((size + 1) / chunk_size)
    for i in range(total if chunks is None else min(chunks, total)):
        start = i * chunk_size
        piece = b"x" * min(chunk_size, size - start)  # a fresh, touched buffer per message, like a websocket frame
        dropper._process_event(_event(name, i + 1, total, piece))
        del piece


def upload(case: str, db_url: str) -> dict[str, Any]:
    import panel as pn
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    import inventory_panel as ip
    from inventory_panel.settings import load_settings
    from inventory_panel.ui.importer import ImportView
    from inventory_panel.ui.model import InventoryModel

    limit = 16
    inventory = ip.connect(
        db_url,
        user="editor@example.com",
        role="editor",
        settings=load_settings({"INVENTORY_MAX_UPLOAD_MB": str(limit)}),
    )
    doc = Document()
    with set_curdoc(doc):
        view = ImportView(model=InventoryModel(inventory=inventory))
        view.__panel__().get_root(doc)
        dropper = view.dropper
        _send(dropper, "warm-up.csv", 3 * dropper.chunk_size, chunks=1)  # warm up: a small unfinished upload
        gc.collect()
        baseline = reset_peak()
        result: dict[str, Any] = {"limit_mb": limit}
        if case == "unfinished":  # 240 MB that never finish: every chunk but the last
            _send(dropper, "big.csv", 240 * MB, chunks=math.ceil((240 * MB + 1) / dropper.chunk_size) - 1)
        elif case == "oversize":  # 48 MB sent completely
            _send(dropper, "big.csv", 48 * MB)
        elif case == "close":  # 15 MB (within the limit) left unfinished, then the page closes
            _send(dropper, "big.csv", 15 * MB, chunks=math.ceil((15 * MB + 1) / dropper.chunk_size) - 1)
            result["before_close_mb"] = rss_mb()
            # What bokeh does when the session ends (DocumentLifecycleHandler.on_session_destroyed): call the
            # document's session-destroyed callbacks. The view itself stays referenced, as a cached page would.
            context = SimpleNamespace(id="probe-session", _document=doc)
            for callback in list(doc.session_destroyed_callbacks):
                callback(context)
            gc.collect()
            result["after_close_mb"] = rss_mb()
        result.update(
            baseline_mb=baseline,
            peak_mb=peak_mb(),
            refusal=view.refusal,
            step=view.step,
            value_names=list(dropper.value),
        )
        del view, dropper
    inventory.close()
    pn.state.kill_all_servers()
    return result


def message_buffers() -> dict[str, Any]:
    """One websocket message announcing 60 binary buffers of 4 MB, fed to Bokeh's receiver as the server does."""
    import asyncio

    from bokeh.protocol import Protocol
    from bokeh.protocol.exceptions import ValidationError
    from bokeh.protocol.receiver import Receiver

    with contextlib.suppress(ImportError):
        import inventory_panel.ui.upload  # noqa: F401 - the app imports it, and with it the bound (if any)

    async def feed(receiver: Receiver) -> str | None:
        header = json.dumps({"msgid": "1", "msgtype": "PATCH-DOC", "num_buffers": 60})
        for fragment in (header, "{}", json.dumps({"events": []})):
            await receiver.consume(fragment)
        for i in range(60):
            await receiver.consume(json.dumps({"id": str(i)}))
            try:
                await receiver.consume(b"x" * (4 * MB))
            except ValidationError as exc:
                return str(exc)
        return None

    receiver = Receiver(Protocol())
    gc.collect()
    baseline = reset_peak()
    refused = asyncio.run(feed(receiver))
    return {"baseline_mb": baseline, "peak_mb": peak_mb(), "refused": refused}


def main(argv: list[str]) -> None:
    case = argv[0]
    if case == "write-csv":
        write_csv(argv[1], float(argv[2]), argv[3])
        result = {"bytes": Path(argv[3]).stat().st_size}
    elif case == "cli-import":
        result = cli_import(argv[1], argv[2], argv[3] if len(argv) > 3 else None)
    elif case == "message-buffers":
        result = message_buffers()
    elif case == "upload":
        with tempfile.TemporaryDirectory() as tmp:
            result = upload(argv[1], f"sqlite:///{tmp}/probe.db")
    else:
        raise SystemExit(f"unknown case {case!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
