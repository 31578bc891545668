"""Settings of the portal: one module, every value from the environment.

The embedded default (nothing set) runs on SQLite with Celery in eager mode so
that `make run` works on a fresh machine. Setting DATABASE_URL and REDIS_URL
moves it to PostgreSQL with a real broker. DJANGO_ENV=production turns on every
transport protection and refuses the development keys.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from espace_sante.keyring import DEV_ENCRYPTION_KEYS, parse_keyring

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEV_SECRET_KEY = "dev-insecure-mon-espace-sante-ne-pas-utiliser-en-production"

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "production", "test"}:
    raise ImproperlyConfigured(
        f"DJANGO_ENV must be development, production or test, not {DJANGO_ENV!r}"
    )
PRODUCTION = DJANGO_ENV == "production"

DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["*"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# Who publishes and hosts the portal, as the legal notices and the personal data page say.
SITE_PUBLISHER = env.str(
    "SITE_PUBLISHER", default="Organisme éditeur à renseigner (réglage SITE_PUBLISHER)"
)
SITE_PUBLICATION_DIRECTOR = env.str(
    "SITE_PUBLICATION_DIRECTOR", default="À renseigner (réglage SITE_PUBLICATION_DIRECTOR)"
)
SITE_HOST = env.str(
    "SITE_HOST", default="Hébergeur de données de santé à renseigner (réglage SITE_HOST)"
)
SITE_CONTACT_EMAIL = env.str("SITE_CONTACT_EMAIL", default="contact@monespacesante.local")
SITE_DPO_EMAIL = env.str("SITE_DPO_EMAIL", default="dpo@monespacesante.local")

# Envelope encryption: master keys "kid:base64" separated by commas; new data keys
# are wrapped under ENCRYPTION_CURRENT_KEY_ID (the last listed by default).
ENCRYPTION_KEYS = parse_keyring(env.str("ENCRYPTION_KEYS", default=DEV_ENCRYPTION_KEYS))
ENCRYPTION_CURRENT_KEY_ID = env.str("ENCRYPTION_CURRENT_KEY_ID", default=list(ENCRYPTION_KEYS)[-1])
if ENCRYPTION_CURRENT_KEY_ID not in ENCRYPTION_KEYS:
    raise ImproperlyConfigured(
        f"ENCRYPTION_CURRENT_KEY_ID {ENCRYPTION_CURRENT_KEY_ID!r} is not in ENCRYPTION_KEYS"
    )

if PRODUCTION:
    if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "Production refuses the development SECRET_KEY: set a random one of 50+ chars."
        )
    dev_keys = parse_keyring(DEV_ENCRYPTION_KEYS)
    if any(ENCRYPTION_KEYS.get(kid) == key for kid, key in dev_keys.items()) or any(
        key in dev_keys.values() for key in ENCRYPTION_KEYS.values()
    ):
        raise ImproperlyConfigured(
            "Production refuses the development ENCRYPTION_KEYS: generate new keys "
            "with `manage.py generate_key`."
        )
    if DEBUG:
        raise ImproperlyConfigured("DJANGO_DEBUG must be off in production.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_email",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "axes",
    "csp",
    "django_celery_beat",
    "dsfr",
    "widget_tweaks",
    "oauth2_provider",
    "espace_sante",
    "acces",
    "dossier",
    "messagerie",
    "agenda",
    "catalogue",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Django's, retrying a save that a cut database connection broke (see the class).
    "espace_sante.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "espace_sante.middleware.IdentityProviderFormActionMiddleware",
    "espace_sante.middleware.SecondFactorRequiredMiddleware",
    "axes.middleware.AxesMiddleware",
    # Innermost: an undecryptable object becomes a French page and an integrity incident.
    "espace_sante.integrity.IntegrityIncidentMiddleware",
]

if PRODUCTION:
    # Static files from the collected, hashed copies; runserver serves them in development.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "espace_sante.urls"
WSGI_APPLICATION = "espace_sante.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "espace_sante.context_processors.portal",
                "espace_sante.nav.entries",
            ],
        },
    },
    {
        # The rows of the long tables (espace_sante/jinja.py): included by the Django
        # templates with {% jinja %}, from a folder the Django engine never reads.
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "NAME": "jinja2",
        "DIRS": [BASE_DIR / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "espace_sante.jinja.environment"},
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# An optional read replica of the same database: the public pages marked `@replica_reads`
# read it, nothing else does (espace_sante/db.py, docs/SCALING.md). Unset: no alias.
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL")
for _database in DATABASES.values():
    _database["ATOMIC_REQUESTS"] = False
    if _database["ENGINE"] == "django.db.backends.sqlite3":
        # Several test threads (live server, Celery eager) share the file: wait, don't fail.
        _database.setdefault("OPTIONS", {})["timeout"] = 20
        _database["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    else:
        _database["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
        _database["CONN_HEALTH_CHECKS"] = True
if "replica" in DATABASES and DATABASES["replica"]["ENGINE"] != "django.db.backends.sqlite3":
    # A replica that does not answer is given up quickly, and the primary read instead.
    DATABASES["replica"].setdefault("OPTIONS", {})["connect_timeout"] = env.int(
        "DATABASE_REPLICA_CONNECT_TIMEOUT", default=2
    )
del _database
DATABASE_ROUTERS = ["espace_sante.db.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "espace_sante.User"
SITE_ID = 1

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = env.list(
    "PASSWORD_HASHERS",
    default=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.ScryptPasswordHasher",
    ],
)

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "espace_sante:after_login"
LOGOUT_REDIRECT_URL = "espace_sante:home"

# django-allauth: patients and professionals sign in with email and password;
# accounts are never self-created (activation with the Carte Vitale does that).
ACCOUNT_ADAPTER = "espace_sante.auth.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Mon espace santé] "
# Per-account lockout is django-axes' job (below); allauth keeps a per-address flood limit.
ACCOUNT_RATE_LIMITS = {"login_failed": "30/m/ip"}

# National sign-in through OpenID Connect (docs/INTEROP.md): Pro Santé Connect for
# professionals, FranceConnect for patients, two apps of allauth's openid_connect provider.
# Each is off (no button, its routes answer 404) until its client id and secret are set.
# Nobody gets an account from them: the adapter matches the identity to an existing one.
SOCIALACCOUNT_ADAPTER = "espace_sante.identity_providers.SocialAccountAdapter"
SOCIALACCOUNT_AUTO_SIGNUP = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_ONLY = False

PRO_SANTE_CONNECT = {
    "client_id": env.str("PSC_CLIENT_ID", default=""),
    "secret": env.str("PSC_CLIENT_SECRET", default=""),
    "server_url": env.str(
        "PSC_SERVER_URL", default="https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet"
    ),
    "acr_values": env.list("PSC_ACR_VALUES", default=["eidas1"]),
    "scope": env.list("PSC_SCOPES", default=["openid", "scope_all"]),
}
FRANCECONNECT = {
    "client_id": env.str("FRANCECONNECT_CLIENT_ID", default=""),
    "secret": env.str("FRANCECONNECT_CLIENT_SECRET", default=""),
    "server_url": env.str(
        "FRANCECONNECT_SERVER_URL", default="https://oidc.franceconnect.gouv.fr/api/v2"
    ),
    "acr_values": env.list("FRANCECONNECT_ACR_VALUES", default=["eidas1"]),
    "scope": env.list(
        "FRANCECONNECT_SCOPES",
        default=["openid", "given_name", "family_name", "birthdate", "birthplace", "gender"],
    ),
    # The `acr` (FranceConnect+) that count as a strong sign-in, like a TOTP; empty: none.
    "strong_acr_values": env.list("FRANCECONNECT_STRONG_ACR_VALUES", default=[]),
}


def _oidc_app(provider_id: str, name: str, conf: dict) -> dict:
    return {
        "provider_id": provider_id,
        "name": name,
        "client_id": conf["client_id"],
        "secret": conf["secret"],
        "settings": {
            "server_url": conf["server_url"],
            "scope": conf["scope"],
            "auth_params": {"acr_values": " ".join(conf["acr_values"])},
            "token_auth_method": "client_secret_post",
        },
    }


SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "APPS": [
            _oidc_app(provider_id, name, conf)
            for provider_id, name, conf in (
                ("pro-sante-connect", "Pro Santé Connect", PRO_SANTE_CONNECT),
                ("franceconnect", "FranceConnect", FRANCECONNECT),
            )
            if conf["client_id"] and conf["secret"]
        ]
    }
}

# django-otp: an email code at each patient sign-in, TOTP for professionals and agents.
OTP_EMAIL_SENDER = env.str("DEFAULT_FROM_EMAIL", default="ne-pas-repondre@monespacesante.local")
OTP_EMAIL_SUBJECT = "Votre code de connexion à Mon espace santé"
OTP_EMAIL_BODY_TEMPLATE_PATH = "emails/otp_code.txt"
OTP_EMAIL_TOKEN_VALIDITY = 600
OTP_EMAIL_THROTTLE_FACTOR = 1
OTP_TOTP_ISSUER = "Mon espace santé"
OTP_TOTP_THROTTLE_FACTOR = 1

# django-axes: lock an account+IP pair after repeated failures.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "login"
AXES_USERNAME_CALLABLE = "espace_sante.auth.axes_username"
AXES_LOCKOUT_TEMPLATE = "account/lockout.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_IPWARE_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0) or None
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Sessions: expire after SESSION_IDLE_MINUTES without a request, never outlive the browser.
# The expiry is pushed back by espace_sante.middleware.SessionMiddleware when the session
# changes or at most every SESSION_REFRESH_SECONDS (not by a write on every request).
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_MINUTES", default=30) * 60
SESSION_SAVE_EVERY_REQUEST = False
SESSION_REFRESH_SECONDS = min(60, SESSION_COOKIE_AGE // 10)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_NAME = "__Host-sessionid" if SESSION_COOKIE_SECURE else "sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken" if SESSION_COOKIE_SECURE else "csrftoken"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=63072000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Documents, attachments, archives and letters: ciphertext only (espace_sante.crypto),
# on the local filesystem (the embedded default) or on an S3-compatible bucket.
STORAGE_BACKEND = env.str("STORAGE_BACKEND", default="filesystem")
if STORAGE_BACKEND == "filesystem":
    DEFAULT_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": env.str("MEDIA_ROOT", default=str(BASE_DIR / "media"))},
    }
elif STORAGE_BACKEND == "s3":
    if not env.str("S3_BUCKET", default=""):
        raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs S3_BUCKET (the bucket's name).")
    if env.str("S3_ADDRESSING_STYLE", default="auto") not in {"auto", "path", "virtual"}:
        raise ImproperlyConfigured("S3_ADDRESSING_STYLE must be auto, path or virtual.")
    DEFAULT_STORAGE = {
        "BACKEND": "espace_sante.storage.PrivateObjectStorage",
        "OPTIONS": {
            "bucket_name": env.str("S3_BUCKET"),
            # Empty: Amazon S3 itself; else the provider's (or the emulator's) address.
            "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("S3_REGION", default="") or None,
            # Empty: boto3's own chain (AWS_ACCESS_KEY_ID..., an instance role).
            "access_key": env.str("S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("S3_SECRET_ACCESS_KEY", default="") or None,
            "addressing_style": env.str("S3_ADDRESSING_STYLE", default="auto"),
            # A prefix inside the bucket, so that one bucket may hold several instances.
            "location": env.str("S3_LOCATION", default=""),
            # Empty for a bucket whose ACLs are disabled (objects private by its policy).
            "default_acl": env.str("S3_DEFAULT_ACL", default="private") or None,
        },
    }
else:
    raise ImproperlyConfigured(f"STORAGE_BACKEND must be filesystem or s3, not {STORAGE_BACKEND!r}")
STORAGES = {
    "default": DEFAULT_STORAGE,
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND",
            default="whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage",
        )
    },
}
# Files are never served from MEDIA_URL: no route serves it, and downloads go through a
# view that asks the policy. (Django's test live server wants it to be a path.)
MEDIA_URL = "/_fichiers-jamais-servis/"
FILE_UPLOAD_PERMISSIONS = 0o600
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = OTP_EMAIL_SENDER
SERVER_EMAIL = DEFAULT_FROM_EMAIL

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # A Redis outage degrades to a per-process cache, logged, never an error page
    # (espace_sante/cache.py); short timeouts so an unreachable server does not hang requests.
    CACHES = {
        "default": {
            "BACKEND": "espace_sante.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": env.float("REDIS_CONNECT_TIMEOUT", default=0.5),
                "socket_timeout": env.float("REDIS_TIMEOUT", default=1.0),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: a real broker when REDIS_URL is set, otherwise tasks run in-process.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="espace_sante")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The worker outlives broker outages, however many and however long: it reconnects
# forever (a supervisor restarts it if it dies anyway: docs/OPERATIONS.md). A message it
# had taken and not acknowledged comes back after the visibility timeout.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_CHANNEL_ERROR_RETRY = True
# A task running when the broker goes away finishes (our tasks are idempotent: a
# redelivered one finds its work claimed or done) rather than being cut mid-send.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Longer than the longest task and retry countdown (exports, back-off of 16 min).
    "visibility_timeout": env.int("BROKER_VISIBILITY_TIMEOUT", default=3600),
    "socket_connect_timeout": 5,
    "socket_keepalive": True,
    # A PING every 25 s notices a dead connection that TCP alone would not.
    "health_check_interval": 25,
    "retry_on_timeout": True,
}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "send-pending-notifications": {
        "task": "espace_sante.tasks.send_pending_notifications",
        "schedule": 60.0,
    },
    "sweep-announced-spaces": {
        "task": "espace_sante.tasks.sweep_announced_spaces",
        "schedule": crontab(minute="*/10"),
    },
    "close-unchallenged-suspensions": {
        "task": "espace_sante.tasks.close_unchallenged_suspensions",
        "schedule": crontab(hour=2, minute=0),
    },
    "hand-over-adults": {
        "task": "espace_sante.tasks.hand_over_adults",
        "schedule": crontab(hour=2, minute=30),
    },
    "destroy-due-spaces": {
        "task": "espace_sante.tasks.destroy_due_spaces",
        "schedule": crontab(hour=3, minute=0),
    },
    "requeue-lost-tasks": {
        "task": "espace_sante.tasks.requeue_lost_tasks",
        "schedule": crontab(minute="*/2"),
    },
    "send-service-write-notices": {
        "task": "catalogue.connections.tasks.send_write_notices",
        "schedule": crontab(hour=18, minute=0),
    },
    "purge-exports": {
        "task": "espace_sante.tasks.purge_exports",
        "schedule": crontab(minute=5),
    },
    "purge-expired-conversations": {
        "task": "messagerie.tasks.purge_expired_conversations",
        "schedule": crontab(hour=3, minute=30),
    },
    "send-appointment-reminders": {
        "task": "agenda.appointments.tasks.send_appointment_reminders",
        "schedule": crontab(minute=15),
    },
    "seal-audit-chains": {
        "task": "acces.tasks.seal_audit_chains",
        "schedule": crontab(minute="*/15"),
    },
    "create-audit-partitions": {
        "task": "acces.tasks.create_audit_partitions",
        "schedule": crontab(hour=1, minute=15),
    },
    "compute-prevention-reminders": {
        "task": "agenda.prevention.tasks.compute_prevention_reminders",
        "schedule": crontab(hour=4, minute=0),
    },
}

# The announced-space sweep: how many sweepers share the work on PostgreSQL (one per core).
SWEEP_PARALLELISM = env.int("SWEEP_PARALLELISM", default=2)

# Notifications: how long a claimed email may stay "sending" before it is retried.
NOTIFICATION_CLAIM_TIMEOUT = timedelta(minutes=env.int("NOTIFICATION_CLAIM_MINUTES", default=10))

# Secure messaging: the patients' MSSanté domain (<INS>@patient.<domain>) and size limits.
MSSANTE_PATIENT_DOMAIN = env.str("MSSANTE_PATIENT_DOMAIN", default="mssante.fr")
MESSAGE_MAX_BYTES = env.int("MESSAGE_MAX_BYTES", default=20 * 1024 * 1024)
MAILBOX_MAX_BYTES = env.int("MAILBOX_MAX_BYTES", default=500 * 1024 * 1024)
# Optional: conversations whose last message is older are crypto-shredded by a nightly
# task (unset: messages are kept while the space lives, docs/MESSAGERIE.md).
MESSAGES_RETENTION_DAYS = env.int("MESSAGES_RETENTION_DAYS", default=None)
if MESSAGES_RETENTION_DAYS is not None and MESSAGES_RETENTION_DAYS < 1:
    raise ImproperlyConfigured(
        f"MESSAGES_RETENTION_DAYS must be 1 day or more, not {MESSAGES_RETENTION_DAYS}"
    )

DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="Carnet-Vaccin-2026!")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "celery": {"level": "WARNING"},
        # WeasyPrint and fontTools log each font subset and unsupported CSS property.
        "weasyprint": {"level": "ERROR"},
        "fontTools": {"level": "ERROR"},
    },
}

if DJANGO_ENV == "test":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The catalogue's OAuth2 server (django-oauth-toolkit; docs/CATALOGUE.md): the
# authorization code with PKCE only, short-lived access tokens, refresh tokens rotated on
# use and revocable, and tokens stored as checksums only (RFC 9700). Which scopes exist,
# and which a service may ask for, is the catalogue's (`catalogue.scopes`).
OAUTH2_PROVIDER = {
    "PKCE_REQUIRED": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("OAUTH_ACCESS_TOKEN_SECONDS", default=900),
    "REFRESH_TOKEN_EXPIRE_SECONDS": env.int("OAUTH_REFRESH_TOKEN_SECONDS", default=90 * 86400),
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    # The rest of RFC 9700 (OAuth 2.0 Security BCP): no implicit or password grant, S256
    # only, tokens never in a URL, the `iss` parameter in authorization responses.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "REQUEST_APPROVAL_PROMPT": "force",
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"] if PRODUCTION else ["http", "https"],
    "SCOPES": {},
    "DEFAULT_SCOPES": [],
    # Codes and tokens bound to their connection, scopes from the service's purposes.
    "OAUTH2_VALIDATOR_CLASS": "catalogue.connections.validator.CatalogueValidator",
    "SCOPES_BACKEND_CLASS": "catalogue.connections.scopes_backend.CatalogueScopes",
}
# django-oauth-toolkit's own models, named so that the catalogue's foreign keys to them
# migrate like any swappable model's.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"
# Calls each connected service may make to the FHIR API per minute (fixed window).
CATALOGUE_API_RATE_PER_MINUTE = env.int("CATALOGUE_API_RATE_PER_MINUTE", default=120)
