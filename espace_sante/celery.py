import functools
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "espace_sante.settings")


def _closed_redis_channel_is_a_connection_error() -> None:
    """Keep the worker alive when a Redis channel of a dropped connection is used again.

    After a broker outage the worker closes its connection, and kombu (5.7 still) detaches
    the transport from it (`transport.client = None`) while channels of that connection are
    still in use: restoring their unacknowledged messages ("Restoring 1 unacknowledged
    message(s)"), or acknowledging the task that was running during the outage, then asks
    for `transport.client.hostname` and raises AttributeError. The worker treats that as
    unrecoverable and exits, typically on the second outage (celery/kombu#970 and #582 show
    the same path). Raised as the connection error it is, kombu and Celery handle it as
    they do any other: the message stays unacknowledged in Redis, the visibility timeout
    delivers it again, and the idempotent task finds its work done.
    """
    try:
        from kombu.transport import redis as kombu_redis
    except ImportError:  # no redis library: nothing to patch
        return
    channel = getattr(kombu_redis, "Channel", None)
    original = getattr(channel, "_connparams", None)
    if original is None or getattr(original, "_mes_guarded", False):
        return

    @functools.wraps(original)
    def _connparams(self, *args, **kwargs):
        if getattr(self.connection, "client", None) is None:
            raise kombu_redis.redis.exceptions.ConnectionError(
                "the broker connection of this channel is closed"
            )
        return original(self, *args, **kwargs)

    _connparams._mes_guarded = True
    channel._connparams = _connparams


_closed_redis_channel_is_a_connection_error()

app = Celery("espace_sante")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The current app is thread-local in Celery: without this, a task queued from another
# thread (a threaded server, the test live server) would go to a default app instead.
app.set_default()
