"""Benchmark: checkout start under 50 concurrent buyers, Stripe 100 ms away
(``pytest tests/bench/test_checkout_bench.py --bench -s -q``).

Each buyer is a thread with its own PostgreSQL connection; all click Buy at the same instant,
for a paid course and for a paid workshop seat (capacity for all). The loopback Stripe
emulator adds 100 ms to every API request, as a real round trip to Stripe would.

- **before**: the checkout as it was: the buyer's row locked and every write (the order, and
  for a seat the workshop's one inventory row) kept locked while Stripe answers. Reproduced by
  running today's service inside such a transaction, with the gateway's "no Stripe call in a
  transaction" guard switched off for that run only.
- **after**: today's services: commit the pending order, call Stripe, save the session.

Prints p50/p95/max latency per click and how many clicks failed. The seat case is where the
old design hurts: every buyer queues on the inventory row for a full Stripe round trip of the
one before, and late clicks in that queue fail outright: by the time their turn comes, the
session's ``expires_at`` (computed when they clicked) is less than Stripe's 30 minutes away.
"""

import statistics
from collections.abc import Callable
from functools import partial

import pytest
from django.db import transaction

from accounts.models import User
from payments import gateway, services
from payments.emulator import StripeEmulator
from payments.models import Order
from tests.payments.factories import paid_course
from tests.support.bench import free_connections, percentile
from tests.support.threads import LockstepThreads
from tests.workshops.factories import a_learner, paid_workshop
from workshops.models import Registration, SeatInventory

from .conftest import record

pytestmark = pytest.mark.django_db(transaction=True)

BUYERS = 50
ROUNDS = 2
STRIPE_LATENCY_SECONDS = 0.1


def locked_like_before(start: Callable[[], object], buyer: User) -> object:
    """The old shape: one transaction, the buyer's row locked, Stripe called inside it."""
    with transaction.atomic():
        User.objects.select_for_update().get(pk=buyer.pk)
        return start()


@pytest.fixture
def slow_stripe(settings):
    with StripeEmulator(port=0, latency=STRIPE_LATENCY_SECONDS) as emulator:
        settings.STRIPE_API_BASE = emulator.base_url
        yield emulator


def _reset(emulator: StripeEmulator) -> None:
    Order.objects.all().delete()
    Registration.objects.all().delete()
    SeatInventory.objects.update(held=0, confirmed=0, offered=0)
    emulator.reset()


def test_checkout_start_under_concurrent_buyers(slow_stripe, monkeypatch):
    course = paid_course(price_amount=4900)
    workshop = paid_workshop(capacity=BUYERS)
    size = min(BUYERS, free_connections())
    buyers = [a_learner() for _ in range(size)]
    starts = {
        "course": lambda buyer: partial(services.start_checkout, buyer=buyer, course=course),
        "workshop seat": lambda buyer: partial(
            services.start_workshop_checkout, buyer=buyer, workshop=workshop
        ),
    }
    rows = []
    with LockstepThreads(size) as threads:
        for item, start_for in starts.items():
            for mode in ("before", "after"):
                with monkeypatch.context() as patch:
                    if mode == "before":
                        patch.setattr(gateway, "assert_no_open_transaction", lambda: None)
                    latencies: list[float] = []
                    errors: list[str] = []
                    for _ in range(ROUNDS):
                        _reset(slow_stripe)
                        calls = [
                            partial(locked_like_before, start_for(buyer), buyer)
                            if mode == "before"
                            else start_for(buyer)
                            for buyer in buyers
                        ]
                        outcomes = threads.run(calls)
                        errors += [repr(o.error) for o in outcomes if o.error is not None]
                        if mode == "after":
                            assert errors == []
                            assert Order.objects.count() == size
                            assert len(slow_stripe.objects("checkout.session")) == size
                        latencies += [outcome.seconds for outcome in outcomes]
                p50 = 1000 * statistics.median(latencies)
                p95 = 1000 * percentile(latencies, 0.95)
                worst = 1000 * max(latencies)
                rows.append((item, mode, p50, p95, worst, len(errors)))
                name = f"checkout start, {item}, {size} buyers"
                record(name, f"{mode} p50/p95 ms", f"{p50:.0f} / {p95:.0f}")
                record(name, f"{mode} failed clicks", str(len(errors)))
                if errors:
                    print(f"\n{item} {mode}: {len(errors)} failed, e.g. {errors[0]}")

    print(
        f"\nCheckout start: {size} concurrent buyers x {ROUNDS} rounds, "
        f"Stripe latency {STRIPE_LATENCY_SECONDS * 1000:.0f} ms"
    )
    print(f"{'item':>14} {'mode':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'failed':>7}")
    for item, mode, p50, p95, worst, failed in rows:
        print(f"{item:>14} {mode:>7} {p50:>8.0f} {p95:>8.0f} {worst:>8.0f} {failed:>7}")
    by_key = {(item, mode): p95 for item, mode, _p50, p95, _worst, _failed in rows}
    # The point of the change: a seat checkout no longer queues behind other buyers' Stripe
    # round trips.
    assert by_key[("workshop seat", "after")] < by_key[("workshop seat", "before")]
