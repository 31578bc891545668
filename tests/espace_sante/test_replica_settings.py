"""`DATABASE_REPLICA_URL`: the alias exists only when it is set, and without it the
router sends everything to the primary (the replica itself: test_replica.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connections, router
from django.urls import URLResolver, get_resolver, reverse

from espace_sante.db import REPLICA_DB_ALIAS, ReplicaRouter, reading_from_replica
from tests.catalogue.directory_helpers import make_service

ROOT = Path(__file__).resolve().parent.parent.parent

# The settings module alone (no app loaded): it builds DATABASES at import.
_PRINT_DATABASES = (
    "import json; from espace_sante.settings import DATABASES as d; "
    "print(json.dumps({a: {k: c.get(k) for k in ('ENGINE', 'NAME', 'HOST', 'PORT', "
    "'CONN_MAX_AGE', 'OPTIONS', 'ATOMIC_REQUESTS')} for a, c in d.items()}))"
)


def _databases(**environ) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_REPLICA_URL"}
    env.update(DJANGO_ENV="test", **environ)
    out = subprocess.run(
        [sys.executable, "-c", _PRINT_DATABASES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def test_no_replica_alias_without_the_variable():
    assert list(_databases(DATABASE_URL="postgres://u@db.example:5432/mes")) == ["default"]


def test_replica_alias_has_the_primary_options_and_a_short_connect_timeout():
    databases = _databases(
        DATABASE_URL="postgres://u@primary.example:5432/mes",
        DATABASE_REPLICA_URL="postgres://lecture@replica.example:5433/mes",
    )

    default, replica = databases["default"], databases[REPLICA_DB_ALIAS]
    assert (replica["HOST"], replica["PORT"], replica["NAME"]) == ("replica.example", 5433, "mes")
    assert replica["ENGINE"] == default["ENGINE"] == "django.db.backends.postgresql"
    assert replica["CONN_MAX_AGE"] == default["CONN_MAX_AGE"] == 60
    assert replica["ATOMIC_REQUESTS"] is default["ATOMIC_REQUESTS"] is False
    assert replica["OPTIONS"] == {"connect_timeout": 2}
    assert "connect_timeout" not in (default["OPTIONS"] or {})


def test_router_migrates_and_writes_the_primary_only():
    from catalogue.models import Service

    replica_router = ReplicaRouter()
    assert replica_router.allow_migrate("default", "catalogue") is True
    assert replica_router.allow_migrate(REPLICA_DB_ALIAS, "catalogue") is False
    with reading_from_replica():
        assert replica_router.db_for_write(Service) == "default"


@pytest.mark.django_db
def test_marked_pages_read_the_primary_without_a_replica(client):
    assert REPLICA_DB_ALIAS not in connections
    make_service(name="Glycémie", slug="glycemie")

    with reading_from_replica():
        from catalogue.models import Service

        assert router.db_for_read(Service) == "default"
    page = client.get(reverse("catalogue:detail", args=["glycemie"]))
    assert "Glycémie" in page.content.decode()


def _routes(patterns, namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _routes(pattern.url_patterns, inner)
        else:
            yield f"{namespace}{pattern.name}", pattern.callback


def test_only_the_public_pages_that_write_nothing_are_marked():
    # A record page writes its trace: marking one would be a bug this list would show.
    marked = {
        name
        for name, view in _routes(get_resolver().url_patterns)
        if hasattr(view, "replica_reads")
    }

    assert marked == {
        "catalogue:list",
        "catalogue:detail",
        "espace_sante:accessibility",
        "espace_sante:legal_notices",
        "espace_sante:personal_data",
    }
