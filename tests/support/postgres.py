"""The tests' PostgreSQL server: ``bench/postgres.py`` (shared with the benchmarks, which must not import ``tests``).

Listens on 127.0.0.1 on a free port: the ``postgres`` superuser connects without a password, every other role
must present its password (SCRAM). See ``bench.postgres.PostgresServer``.
"""

from bench.postgres import SYSTEM_USER, PostgresServer, free_port

__all__ = ["SYSTEM_USER", "PostgresServer", "free_port"]
