"""Read replica (espace_sante/db.py), proved with a second, separate database.

The replica alias is a database of its own here (not a test mirror): what a page shows
tells which database it read. A catalogue service exists in both under one slug with a
different name in each; users, sessions and spaces exist on the primary only.
"""

import copy
import logging
from datetime import date

import pytest
from django.conf import settings
from django.db import connection, connections, transaction
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from django.urls import reverse

from acces.models import AuditEvent
from catalogue.models import Service, ServiceReport
from espace_sante import db as replica_db
from espace_sante.db import REPLICA_DB_ALIAS, replica_reads
from tests import factories
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", REPLICA_DB_ALIAS])

SLUG = "carnet-glycemie"


@pytest.fixture(scope="module", autouse=True)
def replica_database(django_db_setup, django_db_blocker, tmp_path_factory):
    """A `replica` alias on a second test database with the same tables, for this module
    (run the suite without DATABASE_REPLICA_URL: this fixture builds the replica itself)."""
    default = connections["default"].settings_dict
    conf = copy.deepcopy(default)
    if default["ENGINE"] == "django.db.backends.sqlite3":
        name = str(tmp_path_factory.mktemp("replica") / "replica.sqlite3")
    else:
        name = f"{default['NAME']}_replica"  # test_<DATABASE_URL's name>_replica
    conf["NAME"] = name
    # Tables straight from the models: a replica is only read here.
    conf["TEST"] = {**conf["TEST"], "NAME": name, "MIGRATE": False, "MIRROR": None}
    settings.DATABASES[REPLICA_DB_ALIAS] = conf
    connections.settings[REPLICA_DB_ALIAS] = conf
    # The router migrates the primary only (a real replica copies it): build it without.
    with django_db_blocker.unblock(), override_settings(DATABASE_ROUTERS=[]):
        connections[REPLICA_DB_ALIAS].creation.create_test_db(
            verbosity=0, autoclobber=True, serialize=False
        )
    yield
    with django_db_blocker.unblock():
        connections[REPLICA_DB_ALIAS].creation.destroy_test_db(name, verbosity=0)
    del connections[REPLICA_DB_ALIAS]
    del connections.settings[REPLICA_DB_ALIAS]
    settings.DATABASES.pop(REPLICA_DB_ALIAS, None)


def _service(using: str, name: str) -> Service:
    return Service.objects.using(using).create(
        slug=SLUG,
        name=name,
        editor="Éditeur Exemple",
        summary="Un service de test.",
        description="La description du service.",
        terms_url="https://exemple.fr/cgu",
        privacy_url="https://exemple.fr/confidentialite",
        referenced_on=date(2025, 1, 15),
        status=Service.Status.ONLINE,
    )


@pytest.fixture(autouse=True)
def two_copies():
    """The service as each database has it; the replica is emptied after (the test's
    flush empties the primary only: no table of the replica is the router's to flush)."""
    _service("default", "Glycémie (primaire)")
    _service(REPLICA_DB_ALIAS, "Glycémie (réplica)")
    yield
    Service.objects.using(REPLICA_DB_ALIAS).all().delete()
    replica_db._replica_down_until = 0.0


def test_catalogue_pages_read_the_replica(client):
    listing = client.get(reverse("catalogue:list")).content.decode()
    detail = client.get(reverse("catalogue:detail", args=[SLUG])).content.decode()

    for page in (listing, detail):
        assert "Glycémie (réplica)" in page
        assert "Glycémie (primaire)" not in page


def test_signed_in_visitor_is_recognised_from_the_primary(client):
    # The user and the session exist on the primary only: read from the replica, the
    # visitor would be anonymous (and offered no report link).
    space = factories.SpaceFactory()
    sign_in(client, space.holder.user)

    response = client.get(reverse("catalogue:detail", args=[SLUG]))

    assert response.context["user"] == space.holder.user
    assert response.context["may_report"] is True
    assert "Glycémie (réplica)" in response.content.decode()


def test_record_page_reads_and_traces_on_the_primary(client):
    space = factories.SpaceFactory()
    sign_in(client, space.holder.user)
    before = AuditEvent.objects.using("default").count()

    response = client.get(reverse("espace_sante:space", args=[space.public_id]))

    # The space exists on the primary only: a read of the replica would answer 404.
    assert response.status_code == 200
    assert AuditEvent.objects.using("default").count() == before + 1
    assert not AuditEvent.objects.using(REPLICA_DB_ALIAS).exists()


def test_report_form_reads_and_writes_the_primary(client):
    space = factories.SpaceFactory()
    sign_in(client, space.holder.user)

    response = client.post(
        reverse("catalogue:report", args=[SLUG]),
        {"reason": "security", "message": "Il demande mon mot de passe par SMS."},
    )

    assert response.status_code == 302
    report = ServiceReport.objects.using("default").get()
    assert report.service.name == "Glycémie (primaire)"
    assert not ServiceReport.objects.using(REPLICA_DB_ALIAS).exists()


@replica_reads
def _reads_writes_reads(request):
    """A marked view that writes anyway, through the ORM or raw SQL (as the audit does)."""
    first = Service.objects.get(slug=SLUG).name
    if request.GET["how"] == "orm":
        Service.objects.filter(slug=SLUG).update(editor="Modifié")
    else:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE catalogue_service SET editor = %s", ["Modifié"])
    then = Service.objects.get(slug=SLUG)
    return HttpResponse(f"{first}|{then.name}|{then.editor}")


@pytest.mark.parametrize("how", ["orm", "raw"])
def test_marked_view_that_writes_goes_to_the_primary_from_then_on(how):
    request = RequestFactory().get("/", {"how": how})

    first, then, editor = _reads_writes_reads(request).content.decode().split("|")

    assert first == "Glycémie (réplica)"
    assert (then, editor) == ("Glycémie (primaire)", "Modifié")
    assert Service.objects.using("default").get().editor == "Modifié"
    assert Service.objects.using(REPLICA_DB_ALIAS).get().editor == "Éditeur Exemple"


def test_reads_inside_atomic_go_to_the_primary():
    with replica_db.reading_from_replica():
        outside = Service.objects.get(slug=SLUG).name
        with transaction.atomic():
            inside = Service.objects.get(slug=SLUG).name

    assert (outside, inside) == ("Glycémie (réplica)", "Glycémie (primaire)")


def test_unmarked_code_reads_the_primary():
    assert Service.objects.get(slug=SLUG).name == "Glycémie (primaire)"


def test_unreachable_replica_falls_back_to_the_primary(client, caplog):
    replica = connections[REPLICA_DB_ALIAS]
    replica.close()
    saved = copy.deepcopy(replica.settings_dict)
    if replica.vendor == "sqlite":
        replica.settings_dict["NAME"] = "/nonexistent-directory/replica.sqlite3"
    else:
        replica.settings_dict.update(HOST="127.0.0.1", PORT="1")  # nothing listens there
    try:
        with caplog.at_level(logging.WARNING, logger="espace_sante.db"):
            first = client.get(reverse("catalogue:list"))
            second = client.get(reverse("catalogue:detail", args=[SLUG]))
    finally:
        replica.close()
        replica.settings_dict.clear()
        replica.settings_dict.update(saved)

    assert first.status_code == second.status_code == 200
    for response in (first, second):
        assert "Glycémie (primaire)" in response.content.decode()
    # Tried once, then left alone for a while (no connection attempt per request).
    assert [r.getMessage() for r in caplog.records if r.name == "espace_sante.db"] == [
        "Read replica unreachable (OperationalError): reads go to the primary for 30 s"
    ]

    # Once the pause is over, the replica is read again.
    replica_db._replica_down_until = 0.0
    assert "Glycémie (réplica)" in client.get(reverse("catalogue:list")).content.decode()


def test_who_is_signed_in_is_always_read_from_the_primary(client):
    # Even when a marked view reads them itself, after the middleware: users, sessions
    # and second factors exist on the primary only here.
    from django.contrib.sessions.models import Session
    from django_otp.plugins.otp_email.models import EmailDevice

    from espace_sante.models import User

    space = factories.SpaceFactory()
    sign_in(client, space.holder.user)
    user = space.holder.user

    with replica_db.reading_from_replica():
        assert User.objects.get(pk=user.pk) == user
        assert Session.objects.filter(session_key=client.session.session_key).exists()
        assert EmailDevice.objects.filter(user=user).exists()
        # …while what a public page shows comes from the replica.
        assert Service.objects.get(slug=SLUG).name == "Glycémie (réplica)"


def test_replica_gone_between_requests_falls_back_to_the_primary(client, monkeypatch):
    assert "Glycémie (réplica)" in client.get(reverse("catalogue:list")).content.decode()
    replica = connections[REPLICA_DB_ALIAS]
    assert replica.connection is not None  # kept for the next request
    saved = copy.deepcopy(replica.settings_dict)

    # The replica goes away: its kept connection is dead, and a new one is refused.
    if replica.vendor == "postgresql":
        with connections["default"].cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [replica.settings_dict["NAME"]],
            )
        replica.settings_dict.update(HOST="127.0.0.1", PORT="1")
    else:  # SQLite connections do not die: say this one did.
        monkeypatch.setattr(replica, "is_usable", lambda: False)
        replica.settings_dict["NAME"] = "/nonexistent-directory/replica.sqlite3"
    monkeypatch.setattr(replica, "health_check_enabled", True)
    monkeypatch.setattr(replica, "close_at", None)  # a persistent connection
    # What the start of a request does (the test client leaves connections alone).
    replica.close_if_unusable_or_obsolete()
    try:
        response = client.get(reverse("catalogue:list"))
    finally:
        replica.close()
        replica.settings_dict.clear()
        replica.settings_dict.update(saved)

    assert response.status_code == 200
    assert "Glycémie (primaire)" in response.content.decode()
