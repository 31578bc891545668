"""gunicorn bench.floor.wsgi (bench/http.py starts it)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.floor.settings"  # never the portal's
application = get_wsgi_application()
