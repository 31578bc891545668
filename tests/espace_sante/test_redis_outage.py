"""Redis down (cache and broker on a closed port): the portal answers, and catches up after.

Each journey runs with the cache and the Celery broker pointed at a port where nothing
listens and tasks really sent to the broker (not eager); then Redis is "back" (the
embedded cache, eager tasks) and the beat sweep runs: what was asked is done.
"""

import html
import logging
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError

from acces.models import AuditEvent, CareRelation
from espace_sante import cache as resilient
from espace_sante import tasks
from espace_sante.models import CodeRequest, ExportJob, ProvisionalCode, Space
from tests import factories
from tests.conftest import sign_in
from tests.factories import PASSWORD, make_document

pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:1/0"
LOST_CODE_SENT = "un nouveau code vient d'être envoyé"


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _reset_broker_connections(app):
    # The connection and producer pools keep the URL they were made with: forget them.
    app._pool = None
    app.amqp._producer_pool = None


class _Redis:
    """Switches the cache and the broker between a dead Redis and a working stand-in."""

    def __init__(self, settings):
        from espace_sante.celery import app

        self.settings = settings
        self.app = app
        self.broker_url = app.conf.broker_url

    def down(self):
        self.settings.CACHES = {
            "default": {"BACKEND": "espace_sante.cache.ResilientRedisCache", "LOCATION": DEAD_REDIS}
        }
        self.app.conf.broker_url = DEAD_REDIS
        self.app.conf.task_always_eager = False
        _reset_broker_connections(self.app)

    def back(self):
        self.settings.CACHES = {
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
        }
        self.app.conf.broker_url = self.broker_url
        self.app.conf.task_always_eager = True
        _reset_broker_connections(self.app)

    def sweep(self, after=timedelta(minutes=5)):
        """The beat sweep, a few minutes later, with tasks run in the test (the worker)."""
        with time_machine.travel(timezone.now() + after):
            return tasks.requeue_lost_tasks()


@pytest.fixture
def redis(settings):
    redis = _Redis(settings)
    redis.down()
    yield redis
    redis.back()


def test_sign_in_works_while_redis_is_down_and_the_cache_error_is_logged(redis, caplog):
    space = factories.SpaceFactory()
    user = space.holder.user
    client = Client()
    with caplog.at_level(logging.ERROR, logger="espace_sante.cache"):
        response = client.post(
            "/comptes/login/", {"login": user.email, "password": PASSWORD}, follow=True
        )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].startswith("/connexion/verification/")
    assert any("Cache Redis injoignable" in record.getMessage() for record in caplog.records)
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    client.post("/connexion/verification/", {"token": code})
    page = client.get(reverse("espace_sante:space", args=[space.public_id]))
    assert page.status_code == 200
    assert space.holder.last_name in _text(page)
    assert AuditEvent.objects.filter(
        actor=user, action="sign_in_second_factor", outcome="allowed"
    ).exists()


def test_failed_sign_ins_are_still_rate_limited_while_redis_is_down(redis, settings):
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "3/m/ip"}
    settings.AXES_ENABLED = False
    user = factories.SpaceFactory().holder.user
    client = Client()
    for _ in range(3):
        wrong = client.post("/comptes/login/", {"login": user.email, "password": "pas-le-bon"})
        assert wrong.status_code == 200
    # The counter lives in this process meanwhile: the fourth try is refused even so.
    refused = client.post("/comptes/login/", {"login": user.email, "password": PASSWORD})
    assert refused.status_code == 200  # the form again, with its error, no sign-in
    assert refused.context["form"].errors
    assert "_auth_user_id" not in client.session


def test_pro_documents_page_shows_what_the_matrix_allows_while_redis_is_down(redis):
    space = factories.SpaceFactory()
    author = factories.ProfessionalFactory()
    factories.CareRelationFactory(space=space, professional=author)
    pharmacist = factories.ProfessionalFactory(profession="pharmacien", specialty="")
    factories.TOTPDeviceFactory(user=pharmacist.user)
    factories.CareRelationFactory(
        space=space, professional=pharmacist, basis=CareRelation.Basis.CARE_TEAM
    )
    make_document(space, professional=author, title="Bilan du jour", type_code="11502-2")
    make_document(space, professional=author, title="Compte rendu caché", type_code="34112-3")
    client = sign_in(Client(), pharmacist.user)
    page = client.get(f"/pro/patients/{space.public_id}/documents/")
    assert page.status_code == 200
    assert "Bilan du jour" in _text(page)
    assert "Compte rendu caché" not in _text(page)


def test_export_asked_while_redis_is_down_is_saved_then_built_when_it_is_back(
    client, redis, django_capture_on_commit_callbacks
):
    space = factories.SpaceFactory()
    make_document(space, title="Analyse de janvier")
    sign_in(client, space.holder.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("espace_sante:export", args=[space.public_id]))
    assert response.status_code == 302
    job = ExportJob.objects.get(space=space)
    assert job.state == ExportJob.State.QUEUED
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Votre archive est en cours de préparation" in _text(page)

    redis.back()
    assert redis.sweep() == 1
    job.refresh_from_db()
    assert job.state == ExportJob.State.READY
    assert job.done == job.total > 4
    assert "Votre archive est prête" in _text(client.get(response["Location"]))
    assert redis.sweep(after=timedelta(minutes=10)) == 0  # built once, queued no more


def test_lost_code_asked_while_redis_is_down_is_sent_once_when_it_is_back(
    client, redis, django_capture_on_commit_callbacks
):
    space = factories.SpaceFactory(state=Space.State.CREATED, holder__user=None)
    identity = {"nir": space.holder.nir, "carte_vitale_serial": space.holder.carte_vitale_serial}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("espace_sante:lost_code"), identity, follow=True)
    assert response.status_code == 200
    assert LOST_CODE_SENT in _text(response)
    request = CodeRequest.objects.get(space=space)
    assert request.state == CodeRequest.State.PENDING and request.kind == "new_code"
    assert not ProvisionalCode.objects.filter(space=space).exists()
    assert mail.outbox == []

    redis.back()
    assert redis.sweep() == 1
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [space.holder.email]
    code = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", mail.outbox[0].body).group(0)
    request.refresh_from_db()
    assert request.state == CodeRequest.State.DONE
    assert ProvisionalCode.objects.filter(space=space).count() == 1
    assert redis.sweep(after=timedelta(minutes=10)) == 0
    assert len(mail.outbox) == 1
    new_password = "Une-phrase-de-passe-neuve-2026"
    client.post(
        reverse("espace_sante:activate"),
        {
            **identity,
            "code": code,
            "email": "ines.fontaine@exemple.fr",
            "password1": new_password,
            "password2": new_password,
        },
    )
    space.refresh_from_db()
    assert space.state == Space.State.ACTIVE


def test_announcements_of_a_file_enrolled_while_redis_is_down_go_out_when_it_is_back(
    tmp_path, redis, django_capture_on_commit_callbacks
):
    from espace_sante.enrolment import enrol_rows, read_csv
    from espace_sante.models import Letter
    from espace_sante.tracing import Actor
    from tests.espace_sante.test_enrolment import csv_file, line, nir

    by_email, by_post = nir(), nir()
    path = csv_file(
        tmp_path,
        line(by_email, email="claire@exemple.fr"),
        line(by_post, email="", address="5 allée B 44000 Nantes"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        report = enrol_rows(read_csv(path), by=Actor.system())
    assert report.created == 2
    assert CodeRequest.objects.filter(state=CodeRequest.State.PENDING).count() == 2
    assert mail.outbox == [] and not ProvisionalCode.objects.exists()

    redis.back()
    assert redis.sweep() == 2
    assert [message.to for message in mail.outbox] == [["claire@exemple.fr"]]
    assert Letter.objects.get(space__holder__nir=by_post).kind == Letter.Kind.ANNOUNCEMENT
    assert set(CodeRequest.objects.values_list("state", flat=True)) == {CodeRequest.State.DONE}


def test_a_code_task_delivered_twice_sends_one_code(django_capture_on_commit_callbacks):
    space = factories.SpaceFactory(state=Space.State.CREATED, holder__user=None)
    request = CodeRequest.objects.create(space=space, kind="new_code")
    assert tasks.deliver_code.delay(space.pk, "new_code", request.pk).get() == "email"
    assert tasks.deliver_code.delay(space.pk, "new_code", request.pk).get() == "skipped"
    assert len(mail.outbox) == 1
    assert ProvisionalCode.objects.filter(space=space).count() == 1


def test_a_code_request_claimed_by_a_worker_that_died_is_sent_by_the_sweep():
    space = factories.SpaceFactory(state=Space.State.CREATED, holder__user=None)
    request = CodeRequest.objects.create(
        space=space, kind="new_code", state=CodeRequest.State.CLAIMED, claimed_at=timezone.now()
    )
    with time_machine.travel(timezone.now() + CodeRequest.CLAIM_TIMEOUT + timedelta(minutes=3)):
        assert tasks.requeue_lost_tasks() == 1
    request.refresh_from_db()
    assert request.state == CodeRequest.State.DONE
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [space.holder.email]


# --- The cache backend itself ---------------------------------------------------------------


class _FlakyClient:
    """Django's Redis client stand-in: a dict, or a connection error while `down`."""

    def __init__(self):
        self.data = {}
        self.down = False

    def __getattr__(self, name):
        raise AssertionError(f"unexpected call {name}")

    def _check(self):
        if self.down:
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    def get(self, key, default):
        self._check()
        return self.data.get(key, default)

    def set(self, key, value, timeout):
        self._check()
        self.data[key] = value

    def delete_many(self, keys):
        self._check()
        for key in keys:
            self.data.pop(key, None)

    def get_client(self, key=None, *, write=False):
        self._check()
        return self


def _flaky_cache():
    backend = resilient.ResilientRedisCache(DEAD_REDIS, {"OPTIONS": {"RETRY_AFTER": 0}})
    backend.__dict__["_cache"] = _FlakyClient()
    return backend, backend._cache


def test_a_value_changed_while_redis_was_down_is_never_served_stale_after():
    backend, redis = _flaky_cache()
    backend.set("acces:matrix:version", "before")
    redis.down = True
    backend.set("acces:matrix:version", "during")
    assert backend.degraded
    assert backend.get("acces:matrix:version") == "during"  # this process's copy
    redis.down = False
    # Redis still holds "before": it is dropped on recovery, not served.
    assert backend.get("acces:matrix:version") is None
    assert not backend.degraded
    backend.set("acces:matrix:version", "after")
    assert backend.get("acces:matrix:version") == "after"


def test_an_outage_is_logged_once_not_on_every_operation(caplog):
    backend, redis = _flaky_cache()
    redis.down = True
    with caplog.at_level(logging.WARNING, logger="espace_sante.cache"):
        for index in range(50):
            backend.set(f"key-{index}", index)
            assert backend.get(f"key-{index}") == index
        redis.down = False
        backend.get("key-0")
    messages = [record.getMessage() for record in caplog.records]
    assert len([m for m in messages if "injoignable" in m]) == 1
    assert len([m for m in messages if "de nouveau joignable" in m]) == 1


# --- With the real worker (PostgreSQL + Redis run; eagerly on the embedded default) ----------


@pytest.mark.worker
def test_a_worker_sends_the_lost_code_and_builds_the_archive_once_redis_is_back(
    celery_worker, settings
):
    from espace_sante import export, lifecycle
    from espace_sante.celery import app
    from espace_sante.tracing import Actor
    from tests.conftest import wait_for

    space = factories.SpaceFactory(state=Space.State.CREATED, holder__user=None)
    other = factories.SpaceFactory()
    holder = other.holder.user
    eager, broker_url = app.conf.task_always_eager, app.conf.broker_url
    app.conf.task_always_eager = False
    app.conf.broker_url = DEAD_REDIS
    try:
        lifecycle.send_new_code(space=space, by=Actor.system())
        job = export.request_archive(space=other, by=Actor(user=holder, role=holder.kind))
    finally:
        app.conf.task_always_eager, app.conf.broker_url = eager, broker_url
    assert CodeRequest.objects.get(space=space).state == CodeRequest.State.PENDING
    assert ExportJob.objects.get(pk=job.pk).state == ExportJob.State.QUEUED

    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        assert tasks.requeue_lost_tasks() == 2
    assert wait_for(lambda: CodeRequest.objects.get(space=space).state == "done")
    assert wait_for(lambda: ExportJob.objects.get(pk=job.pk).state == ExportJob.State.READY)
    assert wait_for(lambda: any(space.holder.email in sent for sent in celery_worker.sent_emails()))
    assert ProvisionalCode.objects.filter(space=space).count() == 1
