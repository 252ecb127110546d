"""/healthz and /readyz against the real database, Redis broker and storage."""

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from config import health
from config.celery import app as celery_app
from tests.support.network import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_migration_check():
    health.forget_migration_state()
    yield
    health.forget_migration_state()


def test_healthz_answers_a_probe_by_ip_over_plain_http(client, settings):
    # As in production: only the public host name is allowed, and HTTP redirects to HTTPS.
    settings.ALLOWED_HOSTS = ["courses.example.com"]
    settings.SECURE_SSL_REDIRECT = True

    response = client.get("/healthz", HTTP_HOST="10.0.3.7:8000")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]
    # Any other path still gets Django's host check.
    assert client.get("/", HTTP_HOST="10.0.3.7:8000").status_code == 400


def test_readyz_is_ready_when_every_dependency_answers(client):
    response = client.get("/readyz", HTTP_HOST="10.0.3.7")

    assert response.status_code == 200, response.json()
    checks = response.json()["checks"]
    assert set(checks) == {"database", "cache", "broker", "storage", "migrations"}
    assert all(check["ok"] for check in checks.values())


def test_readyz_is_unavailable_while_the_broker_is_down(client):
    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = unreachable
    try:
        response = client.get("/readyz")
    finally:
        celery_app.conf.broker_url = previous

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"]["ok"] is False
    assert "Connection" in body["checks"]["broker"]["detail"]
    assert body["checks"]["database"]["ok"] is True
    # Bounded: a refused connection is reported at once, not after the broker's retry policy.
    assert body["checks"]["broker"]["ms"] < 3000


def test_readyz_is_unavailable_until_every_migration_is_applied(client):
    latest = MigrationRecorder.Migration.objects.filter(app="courses").order_by("-name").first()
    assert latest is not None
    latest.delete()  # as if the new release's migration had not run yet

    response = client.get("/readyz")

    assert response.status_code == 503
    migrations = response.json()["checks"]["migrations"]
    assert migrations["ok"] is False
    assert f"courses.{latest.name}" in migrations["detail"]

    MigrationRecorder(connection).record_applied("courses", latest.name)
    assert client.get("/readyz").status_code == 200


def test_the_migration_check_reads_the_graph_once_per_process(client, django_assert_num_queries):
    assert client.get("/readyz").status_code == 200

    # Later probes: SELECT 1 only (the cache is in memory, the broker and storage are not SQL).
    with django_assert_num_queries(1):
        assert client.get("/readyz").status_code == 200


def test_a_request_id_is_on_every_response_and_a_proxys_id_is_kept(client):
    made_up = client.get("/healthz")["X-Request-ID"]
    assert len(made_up) == 32

    kept = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a9c2e-01")
    assert kept["X-Request-ID"] == "lb-7f3a9c2e-01"

    not_sane = client.get("/healthz", HTTP_X_REQUEST_ID="<script>")
    assert not_sane["X-Request-ID"] != "<script>"
