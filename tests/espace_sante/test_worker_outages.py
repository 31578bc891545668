"""The worker outlives broker outages: kill Redis twice under a running worker, lose no email.

With REDIS_URL set (the CI's PostgreSQL + Redis pass) the test starts its own Redis on a
private port and a real worker started as `make worker` starts it (prefork, gossip, mingle,
heartbeat: the shape that used to exit on the second outage), kills and restarts that Redis
twice and checks the emails leave. On the embedded default (no broker, eager tasks) the
same scenario runs with the broker "down" meaning that queueing a task fails: the outbox
and its sweep must still deliver everything.
"""

import contextlib
import email
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from espace_sante import notifications
from espace_sante.celery import app
from espace_sante.models import Notification
from espace_sante.tasks import send_notification_email, send_pending_notifications
from tests import factories
from tests.conftest import ROOT, wait_for
from tests.mailbox import FOOTER, MEDICAL_CONTENT


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _PrivateRedis:
    """A Redis of this test's own, never the shared one: it is killed on purpose."""

    def __init__(self, port: int, workdir: Path):
        self.port, self.workdir, self.process = port, workdir, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        binary = shutil.which("redis-server")
        assert binary, "redis-server is needed for the broker outage test"
        options = ("--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), *options, "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_for(self._answers, timeout=20), "the private Redis did not start"

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def _answers(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1):
            return True
        return False


class _RealWorker:
    def __init__(self, redis: _PrivateRedis):
        self.redis = redis
        self.mail_dir = Path(tempfile.mkdtemp(prefix="mes-outage-mail-"))
        self.queue = f"test-outage-{os.getpid()}-{time.monotonic_ns()}"
        self.name = f"{self.queue}@localhost"
        self.log_path = self.mail_dir.with_suffix(".worker.log")
        self.process = None

    def start(self):
        db = connection.settings_dict
        env = {
            **os.environ,
            "DJANGO_ENV": "test",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}",
            "REDIS_URL": self.redis.url,
            "EMAIL_URL": f"filemail:///{self.mail_dir}",  # django-environ drops one slash
            "CELERY_QUEUE": self.queue,
            "CELERY_TASK_ALWAYS_EAGER": "false",
        }
        self.log = self.log_path.open("w")
        # The worker as `make worker` runs it (no --without-* flags: those hid the crash).
        command = (sys.executable, "-m", "celery", "-A", "espace_sante", "worker")
        self.process = subprocess.Popen(
            [*command, "--concurrency=1", "-Q", self.queue, "-n", self.name, "--loglevel=INFO"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.wait_until_ready()

    def wait_until_ready(self, timeout=90.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.assert_alive()
            with contextlib.suppress(Exception):
                if app.control.ping(destination=[self.name], timeout=1):
                    return
            time.sleep(0.5)
        raise AssertionError(f"the worker did not answer after the outage:\n{self.log_text()}")

    def assert_alive(self):
        assert self.process.poll() is None, f"the worker exited:\n{self.log_text()}"

    def log_text(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-6000:]

    def sent_to(self, address: str) -> list:
        separator = b"\n" + b"-" * 79 + b"\n"  # what the file backend writes after each
        messages = [
            email.message_from_bytes(raw)
            for path in self.mail_dir.glob("*.log")
            for raw in path.read_bytes().split(separator)
            if raw.strip()
        ]
        return [m for m in messages if m["To"] == address]

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()
        shutil.rmtree(self.mail_dir, ignore_errors=True)
        self.log_path.unlink(missing_ok=True)


class _RealOutages:
    """Redis killed (SIGKILL, no goodbye) and started again under a running worker."""

    real = True

    def __init__(self, tmp_path):
        self.redis = _PrivateRedis(_free_port(), tmp_path)
        self.worker = _RealWorker(self.redis)

    def __enter__(self):
        self.redis.start()
        app.conf.broker_url = self.redis.url
        app.conf.task_default_queue = self.worker.queue
        app.conf.task_always_eager = False
        _forget_broker_connections()
        self.worker.start()
        return self

    def __exit__(self, *exc):
        self.worker.stop()
        if self.redis.process.poll() is None:
            self.redis.kill()
        app.conf.broker_url = django_settings.CELERY_BROKER_URL
        app.conf.task_default_queue = django_settings.CELERY_TASK_DEFAULT_QUEUE
        _forget_broker_connections()

    @contextlib.contextmanager
    def broker_down(self):
        # A task the worker holds unacknowledged when Redis dies (an ETA task waits in the
        # worker): closing its channel restores it, and it is acknowledged after the
        # reconnection, the two paths on which kombu used to kill the worker.
        send_pending_notifications.apply_async(countdown=6)
        time.sleep(1.5)
        self.redis.kill()
        time.sleep(3)  # the worker notices and starts reconnecting
        try:
            yield
        finally:
            self.redis.start()
            self.worker.wait_until_ready()

    def sent_to(self, address: str) -> list:
        self.worker.assert_alive()
        return self.worker.sent_to(address)

    def log_text(self) -> str:
        return self.worker.log_text()


class _EagerOutages:
    """No broker on the embedded default: an outage is a queueing that fails."""

    real = False

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    @contextlib.contextmanager
    def broker_down(self):
        def unreachable(*args, **kwargs):
            raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

        self.monkeypatch.setattr(send_notification_email, "apply_async", unreachable)
        try:
            yield
        finally:
            self.monkeypatch.undo()

    def sent_to(self, address: str) -> list:
        return [
            email.message_from_bytes(m.message().as_bytes()) for m in mail.outbox if address in m.to
        ]

    def log_text(self) -> str:
        return ""


def _forget_broker_connections():
    """The test process publishes (and pings) through the broker now configured."""
    app._pool = None
    with contextlib.suppress(AttributeError, KeyError):
        app.__dict__["amqp"]._producer_pool = None


@pytest.fixture
def outages(transactional_db, tmp_path, monkeypatch):
    if not django_settings.REDIS_URL:
        yield _EagerOutages(monkeypatch)
        return
    with _RealOutages(tmp_path) as real:
        yield real


def _notify(email: str) -> Notification:
    user = factories.UserFactory(email=email)
    with transaction.atomic():
        return notifications.notify(
            recipient=user, template="sign_in", context={"when": timezone.now()}, link="/"
        )


def _sent(notification: Notification) -> bool:
    return Notification.objects.get(pk=notification.pk).email_state == "sent"


@pytest.mark.worker
def test_the_worker_survives_two_broker_outages_and_every_email_leaves(outages):
    for outage in (1, 2):
        with outages.broker_down():
            # Queued while the broker is away: the action succeeds, the row waits.
            during = _notify(f"pendant.panne{outage}@exemple.fr")
            assert Notification.objects.get(pk=during.pk).email_state == "pending"
        # Queued once the broker is back: the same worker sends it.
        after = _notify(f"apres.panne{outage}@exemple.fr")
        assert wait_for(lambda n=after: _sent(n), timeout=60), outages.log_text()
        # The beat sweep (queued here by hand) sends what the outage held back.
        send_pending_notifications.delay()
        assert wait_for(lambda n=during: _sent(n), timeout=60), outages.log_text()

    for outage in (1, 2):
        for address in (f"pendant.panne{outage}@exemple.fr", f"apres.panne{outage}@exemple.fr"):
            sent = outages.sent_to(address)
            assert len(sent) == 1, f"{len(sent)} e-mail(s) pour {address}"
            text = _text_of(sent[0])
            assert FOOTER in text
            assert not any(word in text for word in MEDICAL_CONTENT)
            notification = Notification.objects.get(recipient__email=address)
            assert sent[0]["Message-ID"] == notification.email_message_id


def _text_of(message) -> str:
    """The decoded text/plain part of a parsed email."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no text part")
