"""A code limited to 10 uses, 50 buyers at once: exactly 10 discounted orders.

Real concurrency: 50 threads, each with its own PostgreSQL connection, start checkout at the
same instant through the real service and the Stripe emulator, under
``django_db(transaction=True)`` (every checkout commits for real).
"""

from functools import partial

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F

from payments import services
from payments.models import DiscountCode, Order
from tests.support.threads import LockstepThreads

from .discount_factories import percent_code
from .factories import user

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = 10
BUYERS = 50


def test_fifty_buyers_with_a_ten_use_code_get_exactly_ten_discounted_orders(
    creator, course, stripe_api
):
    code = percent_code(creator=creator, name="TEN", percent=20, max_uses=LIMIT)
    buyers = [user(email=f"buyer{n}@example.com") for n in range(BUYERS)]
    calls = [
        partial(services.start_checkout, buyer=buyer, course=course, code="ten") for buyer in buyers
    ]

    with LockstepThreads(BUYERS) as threads:
        outcomes = threads.run(calls)

    assert [outcome.error for outcome in outcomes if outcome.error] == []
    orders = Order.objects.filter(course=course)
    assert orders.count() == BUYERS
    discounted = orders.filter(discount_code=code)
    assert discounted.count() == LIMIT
    assert set(discounted.values_list("amount", flat=True)) == {3920}
    assert orders.filter(discount_code__isnull=True, amount=4900).count() == BUYERS - LIMIT
    assert DiscountCode.objects.get(pk=code.pk).uses_taken == LIMIT
    # Every order's Checkout Session charges what the order says.
    for order in orders:
        session = stripe_api.get(order.stripe_checkout_session_id)
        assert session["amount_total"] == order.amount


def test_the_database_refuses_a_use_over_the_limit_whatever_the_python_above_it(creator, course):
    code = percent_code(creator=creator, name="GUARD", max_uses=1)
    DiscountCode.objects.filter(pk=code.pk).update(uses_taken=1)

    with (
        pytest.raises(IntegrityError, match="discount_code_uses_within_limit"),
        transaction.atomic(),
    ):
        DiscountCode.objects.filter(pk=code.pk).update(uses_taken=F("uses_taken") + 1)
    assert DiscountCode.objects.get(pk=code.pk).uses_taken == 1
