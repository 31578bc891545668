"""Production refuses the development keys; its deploy check is clean with real ones."""

import base64
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*args, **env):
    full_env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "ENCRYPTION_KEYS", "DJANGO_DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


STRONG_SECRET = "s" * 20 + base64.b64encode(os.urandom(48)).decode()
REAL_KEY = f"prod1:{base64.b64encode(os.urandom(32)).decode()}"


def test_production_refuses_the_development_secret_key():
    result = _run(
        "check", DJANGO_ENV="production", ENCRYPTION_KEYS=REAL_KEY, ALLOWED_HOSTS="example.org"
    )
    assert result.returncode != 0
    assert "development SECRET_KEY" in result.stderr


def test_production_refuses_the_development_encryption_key():
    result = _run(
        "check", DJANGO_ENV="production", SECRET_KEY=STRONG_SECRET, ALLOWED_HOSTS="example.org"
    )
    assert result.returncode != 0
    assert "development ENCRYPTION_KEYS" in result.stderr


def test_production_deploy_check_is_clean_with_real_keys():
    result = _run(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_ENV="production",
        SECRET_KEY=STRONG_SECRET,
        ENCRYPTION_KEYS=REAL_KEY,
        ALLOWED_HOSTS="example.org",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_a_malformed_encryption_key_stops_start_up():
    result = _run("check", ENCRYPTION_KEYS="k1:not-base64!")
    assert result.returncode != 0
    assert "ENCRYPTION_KEYS" in result.stderr
