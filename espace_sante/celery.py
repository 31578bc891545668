import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "espace_sante.settings")

app = Celery("espace_sante")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The current app is thread-local in Celery: without this, a task queued from another
# thread (a threaded server, the test live server) would go to a default app instead.
app.set_default()
