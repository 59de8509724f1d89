"""The ``inventory-panel`` command (DESIGN.md section 5): serve, init-db, import, export, load-sample.

Every failure a person can fix (bad setting, database unreachable, role, refused file) ends in one clear line on
stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import ImportRefusedError, InventoryError
from .settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
APP_FILE = ROOT / "app.py"
SAMPLE_CSV = ROOT / "sample_inventory.csv"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="inventory-panel", description="Lakebase Inventory: run the app, manage data.")
    p.add_argument("--database-url", help="SQLAlchemy URL; default: INVENTORY_DATABASE_URL, PG* variables or SQLite")
    p.add_argument("--user", help="act as this user (default: INVENTORY_USER or your login name)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("serve", help="serve the Panel app")
    s.add_argument("--port", type=int, default=5006)
    s.add_argument("--address", default="127.0.0.1")
    s.add_argument("--show", action="store_true", help="open the app in a browser")

    sub.add_parser("init-db", help="create or upgrade the tables (migrations)")

    i = sub.add_parser("import", help="import a CSV file (DESIGN.md section 6 rules)")
    i.add_argument("file")
    i.add_argument("--mode", choices=("append", "upsert"), default="append")
    i.add_argument("--atomic", action="store_true", help="write nothing unless every row is valid")
    i.add_argument("--dry-run", action="store_true", help="validate and count, write nothing")
    i.add_argument("--json", action="store_true", help="print the report as one JSON object")
    i.add_argument("--errors-out", metavar="FILE", help="write the rejected rows plus an error column to FILE")

    e = sub.add_parser("export", help="export items as CSV")
    e.add_argument("--output", "-o", metavar="FILE", help="file to write (default: standard output)")
    e.add_argument("--search")
    e.add_argument("--category")
    e.add_argument("--location")
    e.add_argument("--status", choices=("low", "out", "ok"))

    sub.add_parser("load-sample", help="import sample_inventory.csv if the inventory is empty")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=os.environ.get("INVENTORY_LOG_LEVEL", "WARNING"),
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "serve":
            return _serve(args)
        return _COMMANDS[args.command](args)
    except ImportRefusedError as exc:
        return _refused(args, str(exc))
    except InventoryError as exc:
        if getattr(args, "json", False):
            print(json.dumps({"error": str(exc)}))
        print(f"inventory-panel: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _connect(args: argparse.Namespace):
    from .inventory import connect

    return connect(args.database_url, user=args.user)


def _init_db(args: argparse.Namespace) -> int:
    inv = _connect(args)
    print(f"Database ready: {inv.database_label}")
    inv.close()
    return 0


def _import(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise ImportRefusedError(f"no such file: {args.file}")
    inv = _connect(args)
    try:
        report = inv.import_csv(path, mode=args.mode, atomic=args.atomic, dry_run=args.dry_run)
    finally:
        inv.close()
    if args.errors_out:
        report.write_error_file(args.errors_out)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, default=str))
    else:
        _print_report(report)
    return 0 if report.skipped == 0 else 1


def _print_report(report: Any) -> None:
    verb = "Would import" if report.dry_run else "Imported"
    print(f"{verb} {report.file}: {report.rows} rows read, {report.inserted} inserted, {report.updated} updated, "
          f"{report.skipped} rejected.")
    if report.atomic and report.skipped:
        print("Atomic import: nothing was written because some rows were rejected.")
    for warning in report.warnings:
        print(f"warning: {warning}")
    errors = report.errors
    for rec in errors.head(20).itertuples(index=False):
        print(f"  row {rec.row}, {rec.column}: {rec.message} (value: {rec.value!r})")
    if len(errors) > 20:
        print(f"  … and {len(errors) - 20} more problems (use --errors-out FILE for all rejected rows)")


def _refused(args: argparse.Namespace, message: str) -> int:
    if getattr(args, "json", False):
        print(json.dumps({"file": Path(args.file).name, "error": message, "rows": 0, "inserted": 0, "updated": 0,
                          "skipped": 0, "dry_run": args.dry_run, "atomic": args.atomic, "errors": [],
                          "warnings": []}, ensure_ascii=False))
    print(f"inventory-panel: file refused, nothing written: {message}", file=sys.stderr)
    return 2


def _export(args: argparse.Namespace) -> int:
    inv = _connect(args)
    filters = {"search": args.search, "category": args.category, "location": args.location, "status": args.status}
    try:
        if args.output:
            count = inv.export_csv(args.output, **filters)
            print(f"Exported {count} items to {args.output}", file=sys.stderr)
        else:
            inv.export_csv(sys.stdout, **filters)
    finally:
        inv.close()
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
    print(f"Loaded {report.inserted} sample items.")
    return 0


def _serve(args: argparse.Namespace) -> int:
    settings = load_settings()  # fail fast, with one line, on a bad setting
    if not APP_FILE.is_file():
        raise InventoryError(f"app.py not found next to the package ({APP_FILE}); run from a source checkout")
    env = dict(os.environ)
    if args.database_url:
        env["INVENTORY_DATABASE_URL"] = args.database_url
    if args.user:
        env["INVENTORY_USER"] = args.user
    if settings.is_databricks_app:
        from .databricks.identity import session_secret

        session_secret(env)  # an App without it would accept forged session tokens: refuse to start
    sign = bool(env.get("BOKEH_SECRET_KEY"))
    cmd = [sys.executable, "-m", "panel", "serve", str(APP_FILE), *serve_args(settings.max_upload_mb, args.port,
                                                                                 args.address, sign_sessions=sign)]
    if args.show:
        cmd.append("--show")
    return subprocess.call(cmd, env=env)


def serve_args(max_upload_mb: int, port: int, address: str, *, sign_sessions: bool = False) -> list[str]:
    """``panel serve`` options shared by the CLI, the tests and app.yaml's documentation.

    ``sign_sessions``: Bokeh signs session ids and tokens with ``BOKEH_SECRET_KEY`` and refuses any it did not sign
    (required in a Databricks App, docs/security.md).
    """
    # Uploads travel base64-encoded over the websocket: a third larger than the file, plus framing.
    ws_limit = int(max_upload_mb * 1024 * 1024 * 1.4) + 1024 * 1024
    signing = ["--session-ids", "signed"] if sign_sessions else []
    return ["--port", str(port), "--address", address, "--allow-websocket-origin", f"{address}:{port}",
            "--allow-websocket-origin", f"localhost:{port}", "--websocket-max-message-size", str(ws_limit), *signing]
    # No --num-threads: with Panel's thread pool a Tabulator edit event can be handled before the edited value
    # arrives, so the old value would be saved. Long work (CSV import) runs in its own worker thread instead.


_COMMANDS = {"init-db": _init_db, "import": _import, "export": _export, "load-sample": _load_sample}

if __name__ == "__main__":
    sys.exit(main())
