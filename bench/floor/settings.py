"""The bare Django floor of the HTTP benchmarks: Django's default middleware, no database.

It answers one constant 4 KB HTML page under the same gunicorn configuration as the
portal, so the benchmarks can say what share of what Django and gunicorn alone manage
on this machine, at this moment, each portal page reaches. The middleware is the list
`django-admin startproject` writes (sessions and authentication stay lazy: the page
touches neither, so no database is needed).
"""

DEBUG = False
SECRET_KEY = "bench-floor-not-secret-it-serves-one-constant-page-and-nothing-else"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "bench.floor.urls"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
DATABASES: dict = {}
USE_TZ = True
WSGI_APPLICATION = "bench.floor.wsgi.application"
