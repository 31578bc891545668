"""The bare Django floor of `bench/http.py`: no app, no middleware, no database.

It answers one trivial view under the same gunicorn configuration as the portal, so the
benchmark can say what share of what Django and gunicorn alone manage on this machine,
at this moment, each portal page reaches.
"""

DEBUG = False
SECRET_KEY = "bench-floor-not-secret-it-serves-one-constant-page-and-nothing-else"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "bench.floor.urls"
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
DATABASES: dict = {}
USE_TZ = True
WSGI_APPLICATION = "bench.floor.wsgi.application"
