# One image for web (gunicorn), migrate, worker and beat (see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# WeasyPrint (PDF exports) loads Pango and HarfBuzz at run time; DejaVu is the fallback font.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fonts-dejavu fonts-noto-color-emoji \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home app \
    && mkdir -p /app /data/media \
    && chown app:app /data/media \
    && chmod 700 /data/media

WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
# (pyproject.toml declares no package: `pip install .` installs the dependencies.)
COPY pyproject.toml README.md ./
RUN pip install . && rm -rf build *.egg-info

COPY . .

# Static files are collected at build time; the keys below exist only for this
# step (production refuses to start without real ones, given at run time).
RUN DJANGO_ENV=production \
    SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
    ENCRYPTION_KEYS="build:$(python -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')" \
    python manage.py collectstatic --noinput

USER app
ENV MEDIA_ROOT=/data/media
EXPOSE 8000

CMD ["gunicorn", "espace_sante.wsgi", "--bind=0.0.0.0:8000", "--workers=3", "--access-logfile=-"]
