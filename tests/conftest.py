import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from espace_sante import assurance
from espace_sante.auth import email_device
from espace_sante.middleware import REFRESHED_SESSION_KEY
from tests import factories, s3

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # sync Playwright + live_server
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def s3_emulator():
    """The local S3 emulator (tests/s3.py), started once for the session when first asked."""
    with s3.running_emulator() as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _test_settings(request, settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Each test its own files: a media directory, or with TEST_OBJECT_STORAGE=s3 a prefix
    # in the emulator's bucket. Changing STORAGES resets `default_storage`, which every
    # FileField uses (Django's `setting_changed` receiver).
    default = (
        request.getfixturevalue("s3_emulator").storage()
        if s3.enabled()
        else {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        }
    )
    settings.STORAGES = {
        **settings.STORAGES,
        "default": default,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits live in the cache: each test starts with none used (and no copy of
    the anonymous home page from another test's settings)."""
    from django.core.cache import cache

    from espace_sante import public_cache

    cache.clear()
    public_cache.forget()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _eager_celery():
    """Tasks run in-process unless a test asks for the real worker (`celery_worker`)."""
    from espace_sante.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = django_settings.CELERY_TASK_ALWAYS_EAGER


def sign_in(client, user, device=None):
    """Sign `user` in with their second factor already verified."""
    client.force_login(user, backend="allauth.account.auth_backends.AuthenticationBackend")
    if device is None:
        device = (
            user.totpdevice_set.filter(confirmed=True).first()
            if user.needs_totp
            else email_device(user)
        )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    # As a sign-in through the middleware leaves it: the idle expiry just pushed back.
    session[REFRESHED_SESSION_KEY] = int(timezone.now().timestamp())
    session[assurance.LEVEL_SESSION_KEY] = int(
        assurance.AssuranceLevel.TOTP
        if device.persistent_id.startswith("otp_totp.")
        else assurance.AssuranceLevel.EMAIL_CODE
    )
    session.save()
    return client


@pytest.fixture
def patient_space(db):
    return factories.SpaceFactory()


@pytest.fixture
def professional(db):
    pro = factories.ProfessionalFactory()
    factories.TOTPDeviceFactory(user=pro.user)
    return pro


@pytest.fixture
def agent(db):
    from acces.services import agent_group

    user = factories.AgentFactory()
    user.groups.add(agent_group())
    factories.TOTPDeviceFactory(user=user)
    return user


class _Worker:
    """Where emails sent by tasks can be counted, whichever runs them."""

    def __init__(self, mail_dir=None, name=None):
        self.mail_dir = mail_dir
        self.name = name
        self.real = mail_dir is not None

    def ran(self, counts: dict, timeout=30.0) -> bool:
        """Wait until the worker has taken at least `counts[task]` runs of each task and runs
        none: a witness that what was queued is done (eager runs are done already)."""
        if not self.real:
            return True
        from espace_sante.celery import app

        def done():
            inspect = app.control.inspect(destination=[self.name], timeout=1.0)
            stats = (inspect.stats() or {}).get(self.name)
            active = (inspect.active() or {}).get(self.name)
            if stats is None or active is None or active:
                return False  # busy (a solo worker answers between tasks only) or not yet there
            total = stats.get("total", {})
            return all(total.get(task.name, 0) >= count for task, count in counts.items())

        return wait_for(done, timeout=timeout)

    def sent_emails(self):
        if not self.real:
            from django.core import mail

            return [m.message().as_string() for m in mail.outbox]
        return [p.read_text(errors="replace") for p in sorted(Path(self.mail_dir).glob("*.log"))]


@pytest.fixture
def celery_worker(request, transactional_db, settings):
    """A real Celery worker process on the test database when REDIS_URL is set.

    On the embedded default (no broker) tasks run eagerly in the test process:
    the same test then proves the same behaviour without the network hop.
    """
    from espace_sante.celery import app

    if not django_settings.REDIS_URL:
        yield _Worker()
        return
    db = connection.settings_dict
    mail_dir = tempfile.mkdtemp(prefix="mes-mail-")
    queue = f"test-{os.getpid()}-{time.monotonic_ns()}"
    env = {
        **os.environ,
        "DJANGO_ENV": "test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
        "EMAIL_URL": f"filemail:///{mail_dir}",  # django-environ drops one leading slash
        "CELERY_QUEUE": queue,
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    # The worker reads and writes the same files as the test (documents, archives).
    storage = django_settings.STORAGES["default"]
    if storage["BACKEND"] == "espace_sante.storage.PrivateObjectStorage":
        env.update(request.getfixturevalue("s3_emulator").environment(storage["OPTIONS"]))
    else:
        env["MEDIA_ROOT"] = str(storage["OPTIONS"]["location"])
    log_path = Path(mail_dir).with_suffix(".worker.log")
    log = log_path.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "espace_sante",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-Q",
            queue,
            "-n",
            f"{queue}@localhost",
            "--loglevel=INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if app.control.ping(destination=[f"{queue}@localhost"], timeout=0.5):
                break
            if process.poll() is not None:
                raise RuntimeError(f"Celery worker died:\n{log_path.read_text()}")
        else:
            raise RuntimeError("Celery worker did not answer within 60 s")
        yield _Worker(mail_dir, name=f"{queue}@localhost")
    finally:
        app.conf.task_default_queue = django_settings.CELERY_TASK_DEFAULT_QUEUE
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        shutil.rmtree(mail_dir, ignore_errors=True)
        log_path.unlink(missing_ok=True)


def wait_for(predicate, timeout=30.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


@pytest.fixture(scope="session")
def oidc_server():
    """A local OpenID Connect provider (tests/oidc.py), started once for the session."""
    from tests.oidc import running_provider

    with running_provider() as url:
        yield url
