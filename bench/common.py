"""Shared set-up of the benchmarks: a throwaway PostgreSQL database `mes_bench`.

DATABASE_URL must point to PostgreSQL: its host, port and user are used, the
database name is replaced by `mes_bench`, which is dropped and created afresh,
migrated, and dropped again at the end (unless BENCH_KEEP_DB=1).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = os.environ.get("BENCH_DB", "mes_bench")


def _admin_url(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


def _conninfo(url: str) -> dict:
    parts = urlsplit(url)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": parts.username or "postgres",
        "password": parts.password,
        "dbname": "postgres",
    }


def _admin(url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(**_conninfo(url), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def setup() -> str:
    """Point Django at a fresh `mes_bench` database, migrate it, return its URL."""
    url = os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit(
            "DATABASE_URL doit désigner PostgreSQL, par exemple "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres"
        )
    bench_url = _admin_url(url, BENCH_DB)
    _admin(
        url,
        f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)",
        f"CREATE DATABASE {BENCH_DB}",
    )
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "espace_sante.settings")
    os.environ["DJANGO_DEBUG"] = "false"  # no query log kept in memory
    os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="mes-bench-media-"))
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()
    from django.core.management import call_command

    with timed("migrate"):
        call_command("migrate", verbosity=0, interactive=False)
    return url


def teardown(url: str) -> None:
    from django.db import connections

    connections.close_all()
    if os.environ.get("BENCH_KEEP_DB") == "1":
        print(f"database {BENCH_DB} kept (BENCH_KEEP_DB=1)")
        return
    _admin(url, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


@contextmanager
def timed(label: str, results: dict | None = None):
    start = time.perf_counter()
    yield
    elapsed = time.perf_counter() - start
    if results is not None:
        results[label] = elapsed
    print(f"  {label:<48} {elapsed:8.2f} s", flush=True)


def vacuum_analyze(*tables: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")


def load_sibling(name: str, filename: str, argv: list[str] | None = None):
    """Another benchmark of bench/ as a module named `name` (its file name may shadow a
    module: `http`, `catalogue`), run with the command-line arguments `argv` (none by
    default: ours are not its) and sys.path restored after it (it puts bench/ last)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / filename)
    module = importlib.util.module_from_spec(spec)
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [sys.argv[0], *(argv or [])]
    try:
        spec.loader.exec_module(module)
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    return module
