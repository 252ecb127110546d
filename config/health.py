"""Health probes for load balancers: ``/healthz`` (liveness) and ``/readyz`` (readiness), answered
by ``config.middleware.HealthCheckMiddleware`` before anything else runs.

Each check is cheap (one round trip) and bounded by a short timeout, so a load balancer may probe
every few seconds. The migration check reads the migration graph from disk, which is not cheap:
its answer is kept for the life of the process once every migration is applied (the code of a
running process does not change; a new release starts new processes).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from config.celery import app as celery_app

BROKER_TIMEOUT_SECONDS = 2.0
_migrations_known_applied = False


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    milliseconds: float


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def check_cache() -> str:
    cache.set("ops:readyz", "1", timeout=30)
    if cache.get("ops:readyz") != "1":
        raise RuntimeError("the cache did not return what was just written")
    return "ok"


def check_broker() -> str:
    # A dead broker host must not hang the probe: bounded connect and one attempt, no back-off.
    bounded = {
        "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
        "socket_timeout": BROKER_TIMEOUT_SECONDS,
    }
    with celery_app.connection_for_write(transport_options=bounded) as broker:
        broker.ensure_connection(
            max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS
        )
    return "ok"


def check_storage() -> str:
    bucket = getattr(default_storage, "bucket", None)
    if bucket is not None:
        # S3: one HEAD on the bucket proves it exists and our credentials may use it (a HEAD on
        # a missing key would answer 404 for a missing bucket too).
        bucket.meta.client.head_bucket(Bucket=bucket.name)
    else:
        default_storage.exists("ops/readyz-probe")
    return "ok"


def check_migrations() -> str:
    global _migrations_known_applied
    if _migrations_known_applied:
        return "ok"
    executor = MigrationExecutor(connection)
    unapplied = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if unapplied:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _backwards in unapplied[:5])
        raise RuntimeError(f"{len(unapplied)} unapplied migration(s): {names}")
    _migrations_known_applied = True
    return "ok"


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
    "storage": check_storage,
    "migrations": check_migrations,
}


def readiness() -> list[CheckResult]:
    """Run every check; a failing one is reported, never raised."""
    results = []
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            detail, ok = check(), True
        except Exception as error:  # any failure means "not ready", with its reason
            detail, ok = f"{type(error).__name__}: {error}", False
        results.append(
            CheckResult(name, ok, detail, round((time.perf_counter() - started) * 1000, 1))
        )
    return results


def forget_migration_state() -> None:
    """For tests: make the next readiness check read the migration graph again."""
    global _migrations_known_applied
    _migrations_known_applied = False


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. It touches nothing else, so a database outage does not
    make an orchestrator restart every web process."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when this process can serve (database, cache, broker, storage reachable,
    every migration applied), else 503 naming what failed, so the balancer routes around it."""
    results = readiness()
    ready = all(result.ok for result in results)
    return JsonResponse(
        {
            "status": "ok" if ready else "unavailable",
            "checks": {
                r.name: {"ok": r.ok, "detail": r.detail, "ms": r.milliseconds} for r in results
            },
        },
        status=200 if ready else 503,
    )
