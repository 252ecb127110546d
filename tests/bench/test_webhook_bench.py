"""How many Stripe webhook events per second the real endpoint applies, and how fast.

Run with ``make bench`` (``pytest tests/bench --bench -s -q``). The site runs as a separate
``manage.py runserver`` process on the test database: the development server, one process
that runs each request in a new thread with a new PostgreSQL connection, so a floor for what
WSGI workers with persistent connections would do. A client loop posts signed
``checkout.session.completed`` events, one per distinct pending order, from a few threads;
each event marks its order paid, enrols the buyer with the lesson outbox rows and sends the
confirmation e-mail (Celery runs eagerly under the test settings, so the e-mail is built and
"sent" to the in-memory backend within the request). Then the same events are posted again:
the redelivery path (found stored, nothing applied).

Bounded: ``BENCH_WEBHOOK_EVENTS`` events (default 500), ``BENCH_WEBHOOK_THREADS`` client
threads (default 4), a 30 s timeout per request and a deadline per pass.
"""

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection

from accounts.models import User
from courses.models import Enrollment
from payments.models import Order, StripeEvent
from tests.payments.factories import paid_course
from tests.payments.helpers import WEBHOOK_PATH, sign
from tests.support.network import accepts_connections, free_port
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

EVENTS = int(os.environ.get("BENCH_WEBHOOK_EVENTS", "500"))
THREADS = int(os.environ.get("BENCH_WEBHOOK_THREADS", "4"))
REQUEST_TIMEOUT = 30.0
PASS_DEADLINE = 300.0
PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def site_process(transactional_db, tmp_path) -> Iterator[str]:
    """``runserver`` on a free port, on this test's database; yields its base URL."""
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url,
    }
    log = (tmp_path / "runserver.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - our own manage.py with fixed arguments
        [
            sys.executable,
            "manage.py",
            "runserver",
            f"127.0.0.1:{port}",
            "--noreload",
            "--skip-checks",
        ],
        cwd=PROJECT_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(
            lambda: process.poll() is not None or accepts_connections(port),
            timeout=60,
            what=f"runserver to start; see {log.name}",
            poll=0.1,
        )
        if process.poll() is not None:
            pytest.fail(f"runserver exited; see {log.name}")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def pending_orders(count: int) -> list[Order]:
    course = paid_course(title="Benchmark course", price_amount=4900, lessons=3)
    buyers = User.objects.bulk_create(
        User(email=f"bench{n}@example.com", password="!") for n in range(count)
    )
    return Order.objects.bulk_create(
        Order(
            buyer=buyer,
            course=course,
            item_title=course.title,
            amount=course.price_amount,
            currency=course.currency,
            stripe_checkout_session_id=f"cs_test_bench_{n}",
        )
        for n, buyer in enumerate(buyers)
    )


def completed_event(order: Order, n: int) -> str:
    """A ``checkout.session.completed`` body in Stripe's shape (the fields we read and more)."""
    event = {
        "id": f"evt_bench_{n}_{uuid.uuid4().hex[:8]}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": order.stripe_checkout_session_id,
                "object": "checkout.session",
                "amount_total": order.amount,
                "currency": order.currency.lower(),
                "client_reference_id": str(order.pk),
                "customer_email": f"bench{n}@example.com",
                "metadata": {"order_id": str(order.pk)},
                "mode": "payment",
                "payment_intent": f"pi_bench_{n}",
                "payment_status": "paid",
                "status": "complete",
            }
        },
    }
    return json.dumps(event, indent=2)


@dataclass
class PassResult:
    name: str
    latencies: list[float]
    errors: int
    seconds: float

    def row(self) -> str:
        ms = sorted(1000 * latency for latency in self.latencies)
        p50 = statistics.median(ms)
        p95 = statistics.quantiles(ms, n=20, method="inclusive")[18]
        return (
            f"{self.name:<16}{len(ms):>7}{self.errors:>8}{self.seconds:>9.2f}"
            f"{len(ms) / self.seconds:>10.1f}{p50:>9.1f}{p95:>9.1f}{ms[-1]:>9.1f}"
        )


def post_all(base_url: str, bodies: list[str], name: str) -> PassResult:
    """POST every body once, signed now, from THREADS threads; latency per request."""
    url = f"{base_url}{WEBHOOK_PATH}"
    secret = settings.STRIPE_WEBHOOK_SECRET
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    next_index = iter(range(len(bodies)))
    deadline = time.monotonic() + PASS_DEADLINE

    def worker() -> None:
        with requests.Session() as session:
            while time.monotonic() < deadline:
                with lock:
                    index = next(next_index, None)
                if index is None:
                    return
                body = bodies[index]
                headers = {
                    "Content-Type": "application/json",
                    "Stripe-Signature": sign(body, secret),
                }
                started = time.perf_counter()
                try:
                    response = session.post(
                        url, data=body.encode(), headers=headers, timeout=REQUEST_TIMEOUT
                    )
                    status: int | str = response.status_code
                except requests.RequestException as problem:
                    status = type(problem).__name__
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    if status != 200:
                        errors.append(f"{index}: {status}")

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    assert len(latencies) == len(bodies), f"{name}: the pass hit its {PASS_DEADLINE} s deadline"
    assert not errors, f"{name}: {errors[:10]}"
    return PassResult(name, latencies, len(errors), seconds)


def test_webhook_throughput_and_latency(site_process):
    orders = pending_orders(EVENTS)
    bodies = [completed_event(order, n) for n, order in enumerate(orders)]

    first = post_all(site_process, bodies, "first delivery")
    again = post_all(site_process, bodies, "redelivery")

    # Every event applied exactly once.
    assert Order.objects.filter(status=Order.Status.PAID).count() == EVENTS
    assert Enrollment.objects.count() == EVENTS
    assert StripeEvent.objects.filter(processed_at__isnull=False).count() == EVENTS

    print(
        f"\n\nStripe webhook endpoint: {EVENTS} signed checkout.session.completed events "
        f"for distinct orders,\n{THREADS} client threads, manage.py runserver (one threaded "
        f"process), PostgreSQL, {os.cpu_count()} CPUs\n"
    )
    print(
        f"{'pass':<16}{'events':>7}{'errors':>8}{'seconds':>9}{'events/s':>10}"
        f"{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"
    )
    print(first.row())
    print(again.row())
    print(
        "\nfirst delivery: verify, store the event, lock the order, mark it paid, enrol with "
        "3 lesson\ndelivery rows, queue the confirmation e-mail (eager here). redelivery: "
        "verify, find it stored.\n"
    )
