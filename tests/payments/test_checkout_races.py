"""Five Buy clicks at once by one learner, with real concurrency: threads, each with its own
PostgreSQL connection, against the emulator with a network-like delay on every request."""

from collections.abc import Iterator

import pytest
from django.db import transaction

from payments import gateway, services
from payments.emulator import StripeEmulator
from payments.models import Order
from tests.support.threads import LockstepThreads

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def slow_stripe(stripe_api) -> Iterator[StripeEmulator]:
    # Long enough that every click reaches Stripe before the first one's answer comes back.
    stripe_api.latency = 0.3
    yield stripe_api
    stripe_api.latency = 0.0


def test_five_concurrent_buy_clicks_make_one_order_and_one_session(buyer, course, slow_stripe):
    with LockstepThreads(5) as threads:
        outcomes = threads.run([lambda: services.start_checkout(buyer=buyer, course=course)] * 5)

    # The gateway raises CalledInsideTransaction for any call made inside a transaction of
    # ours (so under a row lock): no click failed, so none was.
    assert [outcome.error for outcome in outcomes] == [None] * 5
    order = Order.objects.get()
    assert order.status == Order.Status.PENDING
    assert {outcome.value.redirect_url for outcome in outcomes} == {order.stripe_checkout_url}
    assert {outcome.value.order.pk for outcome in outcomes} == {order.pk}
    [session] = slow_stripe.objects("checkout.session")
    assert session["id"] == order.stripe_checkout_session_id
    assert session["metadata"] == {"order_id": str(order.pk)}


def test_the_gateway_rule_holds_in_threads_with_their_own_connections(buyer, stripe_api):
    # The rule is per connection: a thread's own open transaction is refused too.
    def call_inside_a_transaction():
        with transaction.atomic():
            type(buyer).objects.select_for_update().get(pk=buyer.pk)
            gateway.retrieve_checkout_session("cs_test_anything")

    with LockstepThreads(1) as threads:
        [outcome] = threads.run([call_inside_a_transaction])

    assert isinstance(outcome.error, gateway.CalledInsideTransaction)
