"""The money ledger: fee and creator share on each order by one rounding rule, refunds as rows
of their own (partial ones from the Orders admin), reconciled from Stripe's events in any order
and any number of times."""

from decimal import Decimal

import pytest
from django.urls import reverse

from courses.models import Enrollment
from home.studio import selectors as studio
from payments import gateway
from payments.fees import platform_fee_percent, split, split_refund
from payments.models import Order, Refund
from payments.services import ledger

from .factories import paid_course, user
from .helpers import buy_and_get_order, latest_event
from .test_admin import signed_in, with_admin_access

pytestmark = pytest.mark.django_db


# -- the fee and its rounding ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "percent", "fee", "share"),
    [
        (4900, "10", 490, 4410),  # EUR: exact
        (1999, "10", 200, 1799),  # EUR: 199.9 cents rounds to 200
        (55, "10", 6, 49),  # EUR: 5.5 cents rounds half up to 6
        (54, "10", 5, 49),  # EUR: 5.4 cents rounds down to 5
        (1505, "10", 151, 1354),  # JPY: ¥150.5 rounds half up to ¥151
        (1504, "10", 150, 1354),  # JPY: ¥150.4 rounds down to ¥150
        (999, "12.5", 125, 874),  # a staff-set creator rate: 124.875 -> 125
        (0, "10", 0, 0),
    ],
)
def test_fee_is_rounded_half_up_in_the_minor_unit_and_the_share_is_the_rest(
    amount, percent, fee, share
):
    parts = split(amount, Decimal(percent))
    assert (parts.fee, parts.creator_share) == (fee, share)
    assert parts.fee + parts.creator_share == amount


def test_the_fee_percentage_comes_from_settings(settings):
    settings.PLATFORM_FEE_PERCENT = "15"
    assert platform_fee_percent() == Decimal(15)
    assert platform_fee_percent(Decimal("7.5")) == Decimal("7.5")  # a creator's own rate


def test_refunds_give_back_fee_and_share_in_proportion():
    # €49.00 with a €4.90 fee: €10.00 back takes €1.00 of fee, then €39.00 takes €3.90.
    first = split_refund(refund_amount=1000, amount=4900, fee=490)
    rest = split_refund(refund_amount=3900, amount=4900, fee=490, refunded_before=1000)
    assert (first.fee, first.creator_share) == (100, 900)
    assert (rest.fee, rest.creator_share) == (390, 3510)
    assert first.fee + rest.fee == 490


@pytest.mark.parametrize(
    ("price", "currency", "fee", "share"), [(1999, "EUR", 200, 1799), (1505, "JPY", 151, 1354)]
)
def test_checkout_records_amount_fee_and_share_on_the_order(
    buyer_client, stripe_api, price, currency, fee, share
):
    course = paid_course(title="Knife skills", price_amount=price, currency=currency)

    order = buy_and_get_order(buyer_client, course)

    assert (order.amount, order.currency) == (price, currency)
    assert (order.platform_fee_amount, order.creator_share_amount) == (fee, share)


# -- partial refunds from the Orders admin -------------------------------------------------


@pytest.fixture
def paid_order(buyer_client, course, stripe_api, deliver) -> Order:
    order = buy_and_get_order(buyer_client, course)
    stripe_api.pay(order.stripe_checkout_session_id)
    assert deliver(latest_event(stripe_api, "checkout.session.completed")).status_code == 200
    order.refresh_from_db()
    return order


@pytest.fixture
def staff():
    return with_admin_access(user(email="staff@example.com", is_staff=True))


def refund_in_admin(client, order, **form):
    return client.post(reverse("orders:refund", args=[order.pk]), form, follow=True)


def test_staff_refund_part_then_the_rest_from_the_admin(
    staff, paid_order, stripe_api, deliver, mailoutbox
):
    client = signed_in(staff)

    response = refund_in_admin(client, paid_order, amount="10.00", reason="Late start")

    assert "Refund of €10.00 requested" in response.content.decode()
    [refund] = Refund.objects.all()
    assert (refund.amount, refund.currency, refund.status) == (1000, "EUR", "succeeded")
    assert (refund.platform_fee_refunded, refund.creator_share_reversed) == (100, 900)
    assert (refund.source, refund.requested_by, refund.reason) == ("staff", staff, "Late start")
    assert refund.stripe_refund_id == stripe_api.objects("refund")[0]["id"]
    assert stripe_api.objects("refund")[0]["amount"] == 1000
    # Stripe's event for it (twice) changes nothing more, and the learner keeps access.
    partial = latest_event(stripe_api, "charge.refunded")
    assert deliver(partial).status_code == 200
    assert deliver(partial).status_code == 200
    paid_order.refresh_from_db()
    assert (paid_order.status, paid_order.amount_refunded) == (Order.Status.PAID, 1000)
    assert Enrollment.objects.get().status == Enrollment.Status.ACTIVE
    assert Refund.objects.count() == 1
    page = client.get(reverse("orders:inspect", args=[paid_order.pk])).content.decode()
    assert "Up to €39.00 can be refunded" in page
    assert "Late start" in page

    response = refund_in_admin(client, paid_order)  # no amount: all that is left

    assert "Refund of €39.00 requested" in response.content.decode()
    assert deliver(latest_event(stripe_api, "charge.refunded")).status_code == 200
    paid_order.refresh_from_db()
    assert (paid_order.status, paid_order.amount_refunded) == (Order.Status.REFUNDED, 4900)
    rows = list(
        Refund.objects.order_by("created_at").values_list("amount", "platform_fee_refunded")
    )
    assert rows == [(1000, 100), (3900, 390)]
    assert Enrollment.objects.get().status == Enrollment.Status.REFUNDED
    assert [m.subject for m in mailoutbox][-1].startswith("Refund issued")


def test_a_creator_refunds_part_of_their_own_sale_within_the_window(
    creator, paid_order, stripe_api
):
    response = refund_in_admin(signed_in(with_admin_access(creator)), paid_order, amount="4,90")

    assert "Refund of €4.90 requested" in response.content.decode()
    refund = Refund.objects.get()
    assert (refund.amount, refund.source, refund.requested_by) == (490, "creator", creator)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("abc", "Enter an amount such as 19.00."),
        ("49.01", "Enter an amount between €0.01 and €49.00."),
        ("0", "Enter an amount between €0.01 and €49.00."),
        ("1.234", "Enter at most 2 decimals."),
    ],
)
def test_a_refund_amount_that_cannot_be_refunded_is_refused_and_nothing_is_written(
    staff, paid_order, stripe_api, typed, message
):
    response = refund_in_admin(signed_in(staff), paid_order, amount=typed)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Refund.objects.exists()
    assert stripe_api.objects("refund") == []


# -- reconciling with Stripe -------------------------------------------------------------


def test_a_refund_made_in_stripe_is_recorded_once_whatever_the_order_of_its_events(
    paid_order, stripe_api, deliver
):
    gateway.client().v1.refunds.create(
        params={"payment_intent": paid_order.stripe_payment_intent_id or "", "amount": 1500}
    )
    created = latest_event(stripe_api, "refund.created")
    charge_refunded = latest_event(stripe_api, "charge.refunded")

    for event in (created, charge_refunded, created, charge_refunded):
        assert deliver(event).status_code == 200

    refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.source) == (1500, "succeeded", "stripe")
    assert (refund.platform_fee_refunded, refund.creator_share_reversed) == (150, 1350)
    assert refund.requested_by is None
    paid_order.refresh_from_db()
    assert (paid_order.amount_refunded, paid_order.status) == (1500, Order.Status.PAID)


def test_a_refund_whose_answer_was_lost_is_matched_to_its_row_by_stripes_event(
    staff, paid_order, stripe_api, deliver
):
    # Our row was written, then Stripe refunded but its answer never came back.
    row = ledger.start_refund(order=paid_order, amount=700, source=Refund.Source.STAFF)
    gateway.client().v1.refunds.create(
        params={"payment_intent": paid_order.stripe_payment_intent_id or "", "amount": 700}
    )

    assert deliver(latest_event(stripe_api, "charge.refunded")).status_code == 200

    row.refresh_from_db()
    assert row.status == Refund.Status.SUCCEEDED
    assert row.stripe_refund_id == stripe_api.objects("refund")[0]["id"]
    assert Refund.objects.count() == 1


# -- earnings in the studio ------------------------------------------------------------------


def test_the_studio_counts_partial_refunds_and_fees_and_staff_see_the_fee_revenue(
    staff, paid_order, course, stripe_api, deliver
):
    refund_in_admin(signed_in(staff), paid_order, amount="10.00")
    assert deliver(latest_event(stripe_api, "charge.refunded")).status_code == 200

    stats = studio.studio_stats(storefront=course.creator_page)
    [eur] = stats.totals
    # €49.00 paid, €10.00 refunded; fee €4.90 less the €1.00 refunded with it; net the rest.
    assert (eur.currency, eur.gross, eur.refunds, eur.fees, eur.net) == (
        "EUR",
        4900,
        1000,
        390,
        3510,
    )
    assert (eur.gross_display, eur.refunds_display, eur.fees_display, eur.net_display) == (
        "€49.00",
        "€10.00",
        "€3.90",
        "€35.10",
    )
    paid_order.refresh_from_db()
    assert eur.net == paid_order.creator_share_amount - 900  # the share less what was reversed
    [platform] = studio.staff_overview().totals
    assert (platform.currency, platform.fees) == ("EUR", 390)
