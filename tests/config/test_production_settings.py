"""Production settings demand their secrets and pass Django's deployment checklist."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "x7#kq2!v9@zr4$wm8^tb1&yn6*hc3(pd5)fj0-ls_ge+ua=oi~ER",
    "ALLOWED_HOSTS": "courses.example.com",
    "SITE_URL": "https://courses.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/microcourses",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
    "DEFAULT_FROM_EMAIL": "microcourses <hello@courses.example.com>",
    "STRIPE_SECRET_KEY": "sk_live_example",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_example",
    "STRIPE_WEBHOOK_SECRET": "whsec_example",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    # A fresh interpreter (settings are read once per process) with none of the test run's
    # variables: conftest sets DJANGO_ALLOW_ASYNC_UNSAFE, which check --deploy rightly refuses.
    inherited = set(PRODUCTION_ENV) | {"DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in inherited}
    return subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_passes_check_deploy_with_zero_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize(
    "variable",
    [
        "SECRET_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "ALLOWED_HOSTS",
        "EMAIL_URL",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
    ],
)
def test_production_refuses_to_start_without_a_required_variable(variable):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != variable}

    result = manage("check", env=env)

    assert result.returncode != 0
    assert f"Set the {variable} environment variable" in result.stderr


def test_an_smtp_email_url_uses_the_sites_smtp_backend():
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.EMAIL_BACKEND)",
        env=PRODUCTION_ENV,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "config.mail.SMTPBackend"
