"""The ``inventory-panel`` command (README, Command line): serve, init-db, import, export, template, load-sample, and
``databricks setup|doctor`` (``databricks/commands.py``).

Every failure (bad setting, database unreachable, busy, full or read-only, role, refused file, a file that cannot be
written) ends in one clear line on stderr and exit status 2, never a traceback; ``INVENTORY_LOG_LEVEL=DEBUG`` logs
the traceback of an unexpected one.

Over 400 lines because it declares every command's arguments and help in one parser, where a person reads them
all with ``--help``; each command's work is one call of the service.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .data import SAMPLE_CSV
from .errors import ImportRefusedError, InventoryError
from .fields import has_surrogates, replace_surrogates
from .limits import WEBSOCKET_MESSAGE_BYTES
from .settings import load_settings
from .stock_status import LABELS, STATUSES
from .words import count_of

log = logging.getLogger(__name__)

# Files inside the installed package: `serve` and `load-sample` work after `pip install`, not only in a checkout.
PACKAGE = Path(__file__).resolve().parent
APP_FILE = PACKAGE / "ui" / "served" / "app.py"
APP_AUTH_FILE = PACKAGE / "databricks" / "app_auth.py"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="inventory-panel", description="Lakebase Inventory: run the app, manage data.")
    p.add_argument("--database-url", help="SQLAlchemy URL; default: INVENTORY_DATABASE_URL, PG* variables or SQLite")
    p.add_argument("--user", help="act as this user (default: INVENTORY_USER or your login name)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("serve", help="serve the Panel app")
    s.add_argument("--port", type=int, default=5006)
    s.add_argument("--address", default="127.0.0.1")
    s.add_argument("--show", action="store_true", help="open the app in a browser")

    d = sub.add_parser("init-db", help="create or upgrade the tables (migrations)")
    d.add_argument(
        "--grant-to",
        metavar="ROLE",
        default=os.environ.get("INVENTORY_APP_PRINCIPAL", "").strip() or None,
        help="then grant this PostgreSQL role (the app's service principal client ID) what the app needs "
        "(default: INVENTORY_APP_PRINCIPAL)",
    )

    i = sub.add_parser("import", help="import a CSV file or an Excel/OpenDocument workbook (README, CSV rules rules)")
    i.add_argument("file", help="a .csv, .xlsx, .xls or .ods file (told apart by content)")
    i.add_argument("--sheet", metavar="NAME", help="the workbook's sheet to import (default: the first)")
    i.add_argument("--mode", choices=("append", "upsert"), default="append")
    i.add_argument("--atomic", action="store_true", help="write nothing unless every row is valid")
    i.add_argument("--dry-run", action="store_true", help="validate and count, write nothing")
    i.add_argument("--json", action="store_true", help="print the report as one JSON object")
    i.add_argument("--errors-out", metavar="FILE", help="write the rejected rows plus an error column to FILE")

    e = sub.add_parser("export", help="export items as CSV, Excel (xlsx) or Parquet")
    e.add_argument("--output", "-o", metavar="FILE", help="file to write (default: standard output)")
    e.add_argument(
        "--format",
        choices=("csv", "xlsx", "parquet"),
        help="default: from the output file's extension (.xlsx, .parquet), else csv",
    )
    e.add_argument("--search")
    e.add_argument("--category")
    e.add_argument("--location")
    e.add_argument(
        "--status",
        choices=STATUSES,
        help="only items with this stock status: " + ", ".join(f"{s} ({LABELS[s]})" for s in STATUSES),
    )

    t = sub.add_parser("template", help="write the import template (CSV, or xlsx with hints)")
    t.add_argument("--output", "-o", metavar="FILE", help="file to write (default: standard output)")
    t.add_argument("--format", choices=("csv", "xlsx"), help="default: from the output file's extension, else csv")

    sub.add_parser("load-sample", help="import sample_inventory.csv if the inventory is empty")

    from .databricks.commands import add_parser as add_databricks

    add_databricks(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("INVENTORY_LOG_LEVEL", "WARNING"), format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        _check_text_arguments(args)
        if args.command == "serve":
            return _serve(args)
        return _COMMANDS[args.command](args)
    except ImportRefusedError as exc:
        return _refused(args, str(exc))
    except InventoryError as exc:  # every typed error (errors.py), DatabaseBusyError and the like included
        return _failed(args, str(exc))
    except OSError as exc:  # files named on the command line are reported by the commands, with what was done
        if exc.filename is None:  # a stream, most likely standard output closed (| head) or full: stop using it
            _silence_stdout()
        where = f"{exc.filename}: " if exc.filename else ""
        return _failed(args, f"{where}{exc.strerror or exc}")
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last resort: still one line, the traceback only in the log at DEBUG
        log.debug("unexpected error", exc_info=True)
        from .service.connection import database_error_message

        message = database_error_message(exc)  # SQLAlchemy's or the driver's own (the import's raw cursor)
        if message is not None:
            return _failed(args, message)
        return _failed(args, f"unexpected error: {type(exc).__name__}: {str(exc)[:500]}")


def _failed(args: argparse.Namespace, message: str) -> int:
    line = " ".join(replace_surrogates(message).split()) or "failed"
    if getattr(args, "json", False):
        print(json.dumps({"error": line}))
    print(f"inventory-panel: {line}", file=sys.stderr)
    return 2


def _check_text_arguments(args: argparse.Namespace) -> None:
    # Bytes that are not UTF-8 in an argument reach Python as lone surrogates, which no database can store. File
    # names are exempt: the operating system takes them back as the bytes they were.
    for option in ("database_url", "user", "search", "category", "location"):
        value = getattr(args, option, None)
        if value is not None and has_surrogates(value):
            raise InventoryError(f"--{option.replace('_', '-')} is not valid UTF-8 text.")


def _silence_stdout() -> None:
    """Point standard output at the null device, so the exit does not fail again flushing what it still holds."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _cannot_write(path: str, exc: OSError, done: str = "") -> InventoryError:
    return InventoryError(f"Cannot write {path}: {exc.strerror or exc}.{done}")


def _check_folder(path: str) -> None:
    """Refuse an output file in a folder that does not exist before any work is done."""
    folder = Path(path).parent
    if not folder.is_dir():
        raise InventoryError(f"Cannot write {path}: the folder {folder} does not exist.")


def _connect(args: argparse.Namespace):
    from .inventory import connect

    return connect(args.database_url, user=args.user)


def _init_db(args: argparse.Namespace) -> int:
    inv = _connect(args)
    print(f"Database ready: {inv.database_label}")
    inv.close()
    if args.grant_to:  # after every migration: tables a new migration created get the app's grants too
        from .databricks.commands import grant_after_migration

        statements = grant_after_migration(args.database_url, args.grant_to)
        print(
            f"Grants for {args.grant_to}: "
            + (f"{len(statements)} privileges granted or revoked" if statements else "unchanged")
        )
    return 0


def _import(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise ImportRefusedError(f"no such file: {args.file}")
    if args.errors_out:
        _check_folder(args.errors_out)
    inv = _connect(args)
    try:
        report = inv.import_file(path, sheet=args.sheet, mode=args.mode, atomic=args.atomic, dry_run=args.dry_run)
    finally:
        inv.close()
    if args.errors_out:
        try:
            report.write_error_file(args.errors_out)
        except OSError as exc:
            raise _cannot_write(
                args.errors_out,
                exc,
                f" The import itself is done: {report.inserted:,} inserted, "
                f"{report.updated:,} updated, {report.skipped:,} rejected.",
            ) from exc
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, default=str))
    else:
        _print_report(report)
    return 0 if report.skipped == 0 else 1


def _print_report(report: Any) -> None:
    print(import_headline(report))
    for warning in report.warnings:
        print(f"warning: {warning}")
    errors = report.errors
    for rec in errors.head(20).itertuples(index=False):
        print(f"  row {rec.row}, {rec.column}: {rec.message} (value: {rec.value!r})")
    if len(errors) > 20:
        print(f"  … and {count_of(len(errors) - 20, 'more problem')} (use --errors-out FILE for all rejected rows)")
    if report.skipped:
        print("Fix the rejected rows (--errors-out FILE writes them with their problems) and import them again.")


def import_headline(report: Any) -> str:
    """The first line of an import's output: what was (or, in a dry run, would be) written, in words that agree."""
    rejected = f"{count_of(report.skipped, 'row')} rejected"
    read = f"{count_of(report.rows, 'row')} read"
    if report.dry_run:
        if report.atomic and report.skipped:
            return (
                f"Checked {report.file} (dry run, nothing written): {read}, {rejected}; with --atomic nothing "
                "would be imported."
            )
        return (
            f"Checked {report.file} (dry run, nothing written): {read}; would add {count_of(report.inserted, 'item')}, "
            f"update {report.updated:,}; {rejected}."
        )
    if report.atomic and report.skipped:
        return f"Nothing imported from {report.file}: {read}, {rejected}, and the import was all or nothing (--atomic)."
    return (
        f"Imported {report.file}: {read}, {count_of(report.inserted, 'item')} added, {report.updated:,} updated, "
        f"{rejected}."
    )


def _refused(args: argparse.Namespace, message: str) -> int:
    message = replace_surrogates(message)
    if getattr(args, "json", False):
        print(
            json.dumps(
                {
                    "file": replace_surrogates(Path(args.file).name),
                    "error": message,
                    "rows": 0,
                    "inserted": 0,
                    "updated": 0,
                    "skipped": 0,
                    "dry_run": args.dry_run,
                    "atomic": args.atomic,
                    "errors": [],
                    "warnings": [],
                },
                ensure_ascii=False,
            )
        )
    print(f"inventory-panel: file refused, nothing written: {message}", file=sys.stderr)
    return 2


def _export(args: argparse.Namespace) -> int:
    from .exporting import format_for

    kind = format_for(args.output, args.format)
    if args.output:
        _check_folder(args.output)
    elif kind != "csv":
        _refuse_binary_to_terminal(kind)
    inv = _connect(args)
    filters = {"search": args.search, "category": args.category, "location": args.location, "status": args.status}
    try:
        if args.output:
            try:
                count = inv.export(args.output, format=kind, **filters)
            except OSError as exc:  # a full disk, no permission, a folder removed meanwhile
                started = Path(args.output).exists() and not Path(args.output).is_dir()
                raise _cannot_write(args.output, exc, " The file is incomplete." if started else "") from exc
            print(f"Exported {count_of(count, 'item')} to {args.output}", file=sys.stderr)
        elif kind == "csv":
            try:
                inv.export_csv(sys.stdout, **filters)
                sys.stdout.flush()  # here, where a full or closed output is still reported as one line
            except OSError as exc:
                _silence_stdout()
                raise InventoryError(f"Cannot write to standard output: {exc.strerror or exc}.") from exc
        else:
            _binary_to_stdout(lambda out: inv.export(out, format=kind, **filters))
    finally:
        inv.close()
    return 0


def _refuse_binary_to_terminal(kind: str) -> None:
    if sys.stdout.isatty():
        raise InventoryError(
            f"{kind} is a binary format and standard output is a terminal: give --output FILE "
            "(or redirect the output to a file)."
        )


def _binary_to_stdout(write: Any) -> None:
    """``write(file)`` into a temporary file (XlsxWriter and Parquet seek in what they write), then copied to a
    pipe or file on standard output."""
    with tempfile.SpooledTemporaryFile(max_size=8 * 1_048_576) as spool:
        write(spool)
        spool.seek(0)
        try:
            shutil.copyfileobj(spool, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        except OSError as exc:
            _silence_stdout()
            raise InventoryError(f"Cannot write to standard output: {exc.strerror or exc}.") from exc


def _template(args: argparse.Namespace) -> int:
    from .exporting import format_for
    from .importing.template import template_csv, template_xlsx

    kind = format_for(args.output, args.format)
    if kind not in ("csv", "xlsx"):
        raise InventoryError(f"the template comes as csv or xlsx, not {kind}; use --format csv or --format xlsx.")
    content = template_xlsx() if kind == "xlsx" else template_csv().encode("utf-8")
    if not args.output:
        if kind != "csv":
            _refuse_binary_to_terminal(kind)
        _binary_to_stdout(lambda out: out.write(content))
        return 0
    _check_folder(args.output)
    try:
        Path(args.output).write_bytes(content)
    except OSError as exc:
        raise _cannot_write(args.output, exc) from exc
    print(f"Wrote the {kind} template to {args.output}", file=sys.stderr)
    return 0


def _load_sample(args: argparse.Namespace) -> int:
    inv = _connect(args)
    try:
        if inv.summary()["items"]:
            print("The inventory already has items; sample data not loaded.")
            return 0
        report = inv.import_csv(SAMPLE_CSV)
    finally:
        inv.close()
    print(f"Loaded {count_of(report.inserted, 'sample item')}.")
    return 0


def _serve(args: argparse.Namespace) -> int:
    settings = load_settings()  # fail fast, with one line, on a bad setting
    if not APP_FILE.is_file():
        raise InventoryError(f"the app's script is missing from the installed package ({APP_FILE}); reinstall it")
    env = dict(os.environ)
    if args.database_url:
        env["INVENTORY_DATABASE_URL"] = args.database_url
    if args.user:
        env["INVENTORY_USER"] = args.user
    if settings.is_databricks_app:
        from .databricks.identity import session_secret

        session_secret(env)  # an App without it would accept forged session tokens: refuse to start
    sign = bool(env.get("BOKEH_SECRET_KEY"))
    options = serve_args(args.port, args.address, sign_sessions=sign)
    cmd = [sys.executable, "-m", "panel", "serve", str(APP_FILE), *options]
    if settings.is_databricks_app:  # as app.yaml: no joining another person's session with their token
        cmd += ["--auth-module", str(APP_AUTH_FILE)]
    if args.show:
        cmd.append("--show")
    if os.name != "posix":
        return subprocess.call(cmd, env=env)
    # Become `panel serve` instead of waiting for it as a child: a SIGTERM or SIGINT from whoever started us (a
    # supervisor, make, a test) then stops the server itself, and no orphaned server is left holding the port.
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(cmd[0], cmd, env)
    return 0  # not reached: execve replaces this process or raises OSError


def serve_args(port: int, address: str, *, sign_sessions: bool = False) -> list[str]:
    """``panel serve`` options shared by the CLI, the tests and app.yaml's documentation.

    ``sign_sessions``: Bokeh signs session ids and tokens with ``BOKEH_SECRET_KEY`` and refuses any it did not sign
    (required in a Databricks App, docs/security.md).
    """
    # Uploads arrive in binary chunks of a fixed size (limits.py), so one message never needs more, whatever the
    # upload limit; INVENTORY_MAX_UPLOAD_MB is enforced on the server as the chunks arrive (ui/upload.py).
    ws_limit = WEBSOCKET_MESSAGE_BYTES
    signing = ["--session-ids", "signed"] if sign_sessions else []
    return [
        "--port",
        str(port),
        "--address",
        address,
        "--allow-websocket-origin",
        f"{address}:{port}",
        "--allow-websocket-origin",
        f"localhost:{port}",
        "--websocket-max-message-size",
        str(ws_limit),
        *signing,
    ]
    # No --num-threads: with Panel's thread pool a Tabulator edit event can be handled before the edited value
    # arrives, so the old value would be saved. Long work (CSV import) runs in its own worker thread instead.


def _databricks(args: argparse.Namespace) -> int:
    from .databricks.commands import run

    return run(args)


_COMMANDS = {
    "init-db": _init_db,
    "import": _import,
    "export": _export,
    "template": _template,
    "load-sample": _load_sample,
    "databricks": _databricks,
}

if __name__ == "__main__":
    sys.exit(main())
