"""Stripe Connect in the app (issue #12): a creator's Express account and its state from
``account.updated``, destination charges with the platform's fee, refunds that take back the
creator's transfer and the platform's fee in proportion, the paid-publish gate, staff-only fee
overrides, disputes closed. Against the emulator through the real stripe client."""

import json
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from config.publish_gate import PaidPublishRefused
from courses.models import CoursePage, Enrollment
from home.studio import selectors as studio
from payments.fees import split_refund
from payments.models import ConnectedAccount, Order
from payments.services import connect
from tests.studio.test_dashboard import _rows as csv_rows_of

from .factories import paid_course, storefront, user
from .helpers import (
    buy,
    buy_and_get_order,
    connect_creator,
    course_editor_data,
    latest_event,
    post_webhook,
    sign,
)
from .test_admin import signed_in, with_admin_access
from .test_ledger import refund_in_admin

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    return with_admin_access(user(email="staff@example.com", is_staff=True))


def _balance(emulator, account_id: str | None, currency: str = "eur") -> int:
    """Available plus pending, in minor units: what Stripe holds for the account (None: the
    platform's own)."""
    balance = emulator.balance(account_id)
    return sum(
        line["amount"]
        for kind in ("available", "pending")
        for line in balance[kind]
        if line["currency"] == currency
    )


# -- connecting and the account's state -------------------------------------------------------


def test_connecting_makes_one_express_account_with_both_capabilities(creator, stripe_api):
    urls = [
        connect.onboarding_url(
            creator=creator, refresh_url="http://testserver/r/", return_url="http://testserver/b/"
        )
        for _click in range(2)
    ]

    [account] = stripe_api.objects("account")
    assert account["type"] == "express"
    assert set(account["capabilities"]) == {"card_payments", "transfers"}
    assert account["metadata"] == {"creator_id": str(creator.pk)}
    record = ConnectedAccount.objects.get()
    assert (record.creator, record.stripe_account_id) == (creator, account["id"])
    assert record.state == ConnectedAccount.State.REQUIREMENTS_DUE
    assert len(set(urls)) == 2  # a fresh single-use link on every click


def test_account_updated_in_any_order_and_twice_ends_as_stripes_account(
    creator, stripe_api, deliver
):
    account_id = connect_creator(creator, stripe_api, outcome="incomplete")
    stripe_api.set_account_state(account_id, "complete")
    older, newer = stripe_api.events(type="account.updated")[-2:]
    ConnectedAccount.objects.update(transfers_active=False, state_as_of=None)

    for event in (newer, older, older, newer):
        assert deliver(event).status_code == 200

    record = ConnectedAccount.objects.get()
    assert record.transfers_active and record.charges_enabled and record.details_submitted
    assert record.requirements_due == []
    assert record.state == ConnectedAccount.State.ENABLED


def test_an_older_account_state_arriving_late_changes_nothing(creator, stripe_api):
    account_id = connect_creator(creator, stripe_api)
    record = ConnectedAccount.objects.get()
    assert record.transfers_active and record.state_as_of is not None

    late = {
        "id": account_id,
        "capabilities": {"transfers": "inactive"},
        "requirements": {"currently_due": ["external_account"]},
    }
    assert not connect.record_account(
        late, as_of=record.state_as_of.replace(year=record.state_as_of.year - 1)
    )
    record.refresh_from_db()
    assert record.transfers_active and record.requirements_due == []


def test_a_restricted_account_says_so_and_lists_what_stripe_asks(creator, stripe_api):
    connect_creator(creator, stripe_api, outcome="restricted")

    record = ConnectedAccount.objects.get()
    assert record.state == ConnectedAccount.State.RESTRICTED
    assert record.disabled_reason
    assert not record.can_receive_transfers


# -- destination charges and refunds --------------------------------------------------------


def test_a_sale_is_a_destination_charge_with_the_platform_fee(
    buyer_client, creator, stripe_api, deliver
):
    account_id = connect_creator(creator, stripe_api)
    course = paid_course(storefront_page=storefront(creator=creator), price_amount=1999)

    order = buy_and_get_order(buyer_client, course)

    assert (order.platform_fee_amount, order.creator_share_amount) == (200, 1799)
    assert order.destination_account_id == account_id
    session = stripe_api.get(order.stripe_checkout_session_id)
    stripe_api.pay(session["id"])
    assert deliver(latest_event(stripe_api, "checkout.session.completed")).status_code == 200
    intent = stripe_api.get(
        latest_event(stripe_api, "checkout.session.completed")["data"]["object"]["payment_intent"]
    )
    assert intent["transfer_data"]["destination"] == account_id
    assert intent["application_fee_amount"] == 200
    assert _balance(stripe_api, account_id) == 1799  # the creator's share, at Stripe
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_staffs_fee_for_one_creator_applies_to_their_next_checkouts(
    buyer_client, creator, staff, stripe_api
):
    connect_creator(creator, stripe_api)
    connect.set_fee_percent(staff_user=staff, creator=creator, percent="12.5")
    course = paid_course(storefront_page=storefront(creator=creator), price_amount=999)

    order = buy_and_get_order(buyer_client, course)

    assert (order.platform_fee_amount, order.creator_share_amount) == (125, 874)


@pytest.mark.parametrize("typed", ["-1", "100.01", "abc", "12.345", "NaN"])
def test_a_fee_override_is_staff_only_and_checked(creator, staff, stripe_api, typed):
    connect_creator(creator, stripe_api)

    with pytest.raises(connect.ConnectError, match="Only staff"):
        connect.set_fee_percent(staff_user=creator, creator=creator, percent="1")
    with pytest.raises(connect.ConnectError, match="between 0 and 100"):
        connect.set_fee_percent(staff_user=staff, creator=creator, percent=typed)

    assert ConnectedAccount.objects.get().fee_percent_override is None
    connect.set_fee_percent(staff_user=staff, creator=creator, percent="0")
    assert ConnectedAccount.objects.get().fee_percent_override == Decimal(0)


def test_the_creator_cannot_set_their_fee_on_the_get_paid_page(creator, stripe_api):
    connect_creator(creator, stripe_api)
    with_admin_access(creator)
    storefront(creator=creator)

    response = signed_in(creator).post(
        reverse("studio_get_paid"), {"action": "fee", "fee_percent": "0"}
    )

    assert response.status_code in (302, 403)  # Wagtail's admin redirects a refusal home
    assert response.get("Location", "/admin/") == "/admin/"
    assert ConnectedAccount.objects.get().fee_percent_override is None


def test_partial_then_full_refund_take_back_the_shares_in_proportion(
    buyer_client, creator, staff, stripe_api, deliver
):
    account_id = connect_creator(creator, stripe_api)
    course = paid_course(storefront_page=storefront(creator=creator), price_amount=1999)
    order = buy_and_get_order(buyer_client, course)
    stripe_api.pay(order.stripe_checkout_session_id)
    assert deliver(latest_event(stripe_api, "checkout.session.completed")).status_code == 200

    refund_in_admin(signed_in(staff), order, amount="10.01")
    assert deliver(latest_event(stripe_api, "charge.refunded")).status_code == 200

    [refund] = stripe_api.objects("refund")
    assert refund["transfer_reversal"]  # reverse_transfer=True went to Stripe
    [eur] = studio.studio_stats(storefront=course.creator_page).totals
    # €10.01 of €19.99: fee back round(200 * 1001 / 1999) = 100, the creator gives back 901.
    assert (eur.gross, eur.refunds, eur.fees, eur.net) == (1999, 1001, 100, 898)
    assert _balance(stripe_api, account_id) == eur.net
    assert _balance(stripe_api, None) == eur.fees  # the platform's application fee, kept

    refund_in_admin(signed_in(staff), order)  # the rest
    assert deliver(latest_event(stripe_api, "charge.refunded")).status_code == 200

    [eur] = studio.studio_stats(storefront=course.creator_page).totals
    assert (eur.refunds, eur.fees, eur.net) == (1999, 0, 0)
    assert _balance(stripe_api, account_id) == 0
    order.refresh_from_db()
    assert (order.status, order.platform_fee_refunded) == (Order.Status.REFUNDED, 200)


def test_fee_refunds_of_several_partial_refunds_add_up_to_the_fee():
    # 105 of fee on 1000: three refunds of 1/3 each would give back 35 + 35 + 35 either way,
    # but 100 + 100 + 800 round 10.5 each: per refund 11 + 11 + 84 = 106, one too many.
    parts = []
    refunded = 0
    for amount in (100, 100, 800):
        parts.append(
            split_refund(refund_amount=amount, amount=1000, fee=105, refunded_before=refunded)
        )
        refunded += amount
    assert [part.fee for part in parts] == [11, 10, 84]
    assert sum(part.fee for part in parts) == 105


def test_a_creator_whose_account_cannot_receive_transfers_sells_nothing(
    buyer_client, creator, stripe_api
):
    connect_creator(creator, stripe_api, outcome="restricted")
    course = paid_course(storefront_page=storefront(creator=creator))

    response = buy(buyer_client, course)

    assert response.status_code in (302, 303, 400)
    assert not Order.objects.exists()
    assert stripe_api.objects("checkout.session") == []


# -- the publish gate -----------------------------------------------------------------------


def _publish_in_editor(client, course: CoursePage, **changes):
    data = course_editor_data(title=course.title, slug=course.slug, price_amount="49.00")
    data.update(changes)
    return client.post(reverse("wagtailadmin_pages:edit", args=[course.pk]), data)


@pytest.fixture
def approved_creator():
    from tests.studio.factories import approved_creator as approve

    creator, page = approve(email="maya@example.com", display_name="Maya Okafor")
    return creator, page


def test_a_creator_with_an_incomplete_account_cannot_publish_until_onboarding_completes(
    approved_creator, stripe_api, deliver
):
    creator, page = approved_creator
    course = paid_course(storefront_page=page, title="Knife skills")
    course.title = "Knife skills, draft"
    course.save_revision()
    client = signed_in(creator)

    refused = _publish_in_editor(client, course, title="Knife skills, new")

    assert refused.status_code == 200
    [message] = refused.context["form"].non_field_errors()
    assert "connected a Stripe account" in message
    assert CoursePage.objects.get(pk=course.pk).title == "Knife skills"

    account_id = connect_creator(creator, stripe_api, outcome="incomplete")
    refused = _publish_in_editor(client, course, title="Knife skills, new")
    [message] = refused.context["form"].non_field_errors()
    assert "can receive payouts" in message

    # Onboarding completed: Stripe's account.updated says so, and publishing works.
    ConnectedAccount.objects.update(state_as_of=None)
    stripe_api.set_account_state(account_id, "complete")
    ConnectedAccount.objects.update(transfers_active=False)  # only the event may tell
    assert deliver(latest_event(stripe_api, "account.updated")).status_code == 200
    published = _publish_in_editor(client, course, title="Knife skills, new")

    assert published.status_code == 302, published.context["form"].errors
    assert CoursePage.objects.get(pk=course.pk).title == "Knife skills, new"


def test_free_courses_and_drafts_need_no_account(approved_creator):
    creator, page = approved_creator
    course = paid_course(storefront_page=page, title="Knife skills")
    client = signed_in(creator)

    draft = _publish_in_editor(client, course, **{"action-publish": "", "title": "Draft"})
    free = _publish_in_editor(client, course, price_amount="0", title="Free knife skills")

    assert draft.status_code == 302
    assert free.status_code == 302
    course = CoursePage.objects.get(pk=course.pk)
    assert (course.title, course.price_amount) == ("Free knife skills", 0)


@pytest.mark.parametrize("kind", ["course", "workshop"])
def test_every_other_way_a_person_publishes_is_gated_too(approved_creator, staff, kind):
    from tests.workshops.factories import paid_workshop

    _creator, page = approved_creator
    item = (
        paid_course(storefront_page=page, title="Knife skills")
        if kind == "course"
        else paid_workshop(parent=page)
    )
    revision = item.save_revision()

    with pytest.raises(PaidPublishRefused, match="connected a Stripe account"):
        revision.publish(user=staff)  # what bulk publish and a workflow's approval call
    revision.publish()  # without a person (scheduled go-live, the demo seed): trusted


def test_the_platforms_own_paid_pages_are_exempt():
    assert connect.publish_refusal(owner=None) is None


# -- disputes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("outcome", "access"), [("lost", "refunded"), ("won", "active")])
def test_a_closed_dispute_is_recorded_and_told_to_creator_and_staff(
    buyer_client, creator, stripe_api, deliver, settings, outcome, access
):
    settings.ADMINS = [("Staff", "staff@example.com")]
    connect_creator(creator, stripe_api)
    course = paid_course(storefront_page=storefront(creator=creator))
    order = buy_and_get_order(buyer_client, course)
    stripe_api.pay(order.stripe_checkout_session_id)
    assert deliver(latest_event(stripe_api, "checkout.session.completed")).status_code == 200
    order.refresh_from_db()
    dispute = stripe_api.create_dispute(order.stripe_payment_intent_id)
    assert deliver(latest_event(stripe_api, "charge.dispute.created")).status_code == 200
    mail.outbox.clear()

    stripe_api.close_dispute(dispute["id"], outcome)
    closed = latest_event(stripe_api, "charge.dispute.closed")
    assert deliver(closed).status_code == 200
    assert deliver(closed).status_code == 200  # redelivered: nothing more

    order.refresh_from_db()
    assert (order.dispute_status, order.dispute_closed_at is not None) == (outcome, True)
    assert Enrollment.objects.get().status == access
    assert sorted(message.to[0] for message in mail.outbox) == [
        "maya@example.com",
        "staff@example.com",
    ]


# -- the studio -------------------------------------------------------------------------------


def test_the_get_paid_page_connects_and_shows_state_earnings_and_balance(
    approved_creator, buyer_client, stripe_api, deliver
):
    creator, page = approved_creator
    client = signed_in(creator)

    first = client.get(reverse("studio_get_paid")).content.decode()
    assert 'data-state="not_connected"' in first
    started = client.post(reverse("studio_get_paid"), {"action": "connect"})
    assert started.status_code == 302 and started["Location"].startswith(stripe_api.base_url)
    stripe_api.onboard(started["Location"], "complete")
    assert deliver(latest_event(stripe_api, "account.updated")).status_code == 200
    course = paid_course(storefront_page=page, price_amount=1999)
    order = buy_and_get_order(buyer_client, course)
    stripe_api.pay(order.stripe_checkout_session_id)
    assert deliver(latest_event(stripe_api, "checkout.session.completed")).status_code == 200

    html = client.get(reverse("studio_get_paid")).content.decode()

    assert 'data-state="enabled"' in html
    assert "€19.99" in html and "€2.00" in html and "€17.99" in html
    assert 'class="pending">€17.99' in html
    dashboard = client.post(reverse("studio_get_paid"), {"action": "dashboard"})
    assert dashboard.status_code == 302 and dashboard["Location"].startswith(stripe_api.base_url)

    # The earnings CSV: each sale's ledger, and where the creator's share went.
    csv_rows = csv_rows_of(client.get(reverse("studio_export_orders")))
    header, [row] = csv_rows[0], csv_rows[1:]
    sale = dict(zip(header, row, strict=True))
    assert (sale["amount"], sale["platform_fee"], sale["creator_share"]) == (
        "19.99",
        "2.00",
        "17.99",
    )
    assert sale["paid_to"] == ConnectedAccount.objects.get().stripe_account_id


def test_staff_see_each_creators_connect_state(approved_creator, staff, stripe_api):
    creator, _page = approved_creator
    connect_creator(creator, stripe_api, outcome="incomplete")

    html = signed_in(staff).get(reverse("studio_dashboard")).content.decode()

    assert "Requirements due" in html
    [row] = studio.staff_overview().creators
    assert row.account is not None and row.account.state == "requirements_due"


# -- the Connect webhook endpoint's own secret -------------------------------------------------


def test_events_signed_by_the_connect_endpoints_secret_are_accepted(
    client, creator, stripe_api, settings
):
    settings.STRIPE_CONNECT_WEBHOOK_SECRET = "whsec_connect_endpoint"
    connect_creator(creator, stripe_api, outcome="incomplete")
    event = latest_event(stripe_api, "account.updated")
    body = json.dumps(event)

    by_connect = post_webhook(client, body, sign(body, "whsec_connect_endpoint"))
    by_stranger = post_webhook(client, body, sign(body, "whsec_someone_else"))

    assert by_connect.status_code == 200
    assert by_stranger.status_code == 400


def test_a_workshop_seat_is_a_destination_charge_and_a_restricted_creator_holds_no_seat(
    buyer_client, creator, stripe_api
):
    from tests.workshops.factories import paid_workshop
    from workshops.models import Registration

    account_id = connect_creator(creator, stripe_api, outcome="restricted")
    workshop = paid_workshop(parent=storefront(creator=creator), price_amount=2500)

    refused = buyer_client.post(reverse("payments:buy_workshop", args=[workshop.pk]))

    assert refused.status_code in (302, 303, 400)
    assert not Registration.objects.exists()  # no seat held for a sale that can't be made
    assert not Order.objects.exists()

    stripe_api.set_account_state(account_id, "complete")
    connect.refresh_account(creator=creator)
    bought = buyer_client.post(reverse("payments:buy_workshop", args=[workshop.pk]))

    assert bought.status_code == 303
    order = Order.objects.get()
    assert (order.destination_account_id, order.platform_fee_amount) == (account_id, 250)
    [session] = stripe_api.objects("checkout.session")
    assert session["id"] == order.stripe_checkout_session_id


def test_staff_set_a_creators_fee_on_their_get_paid_page(approved_creator, staff, stripe_api):
    creator, page = approved_creator
    connect_creator(creator, stripe_api)
    client = signed_in(staff)
    url = reverse("studio_get_paid") + f"?creator={page.pk}"

    assert 'name="fee_percent"' in client.get(url).content.decode()
    refused = client.post(url, {"action": "fee", "fee_percent": "150"}, follow=True)
    assert "between 0 and 100" in refused.content.decode()
    assert ConnectedAccount.objects.get().fee_percent_override is None

    saved = client.post(url, {"action": "fee", "fee_percent": "7.5"}, follow=True)

    assert "The platform fee of this creator is saved." in saved.content.decode()
    assert ConnectedAccount.objects.get().fee_percent_override == Decimal("7.5")
    assert "keeps 7.50% of each sale" in signed_in(creator).get(url).content.decode()


def test_an_expired_onboarding_link_comes_back_to_a_fresh_one(approved_creator, stripe_api):
    creator, _page = approved_creator
    client = signed_in(creator)
    first = client.post(reverse("studio_get_paid"), {"action": "connect"})["Location"]
    stripe_api.expire_account_link(first)

    again = client.get(reverse("studio_get_paid_refresh"))

    assert again.status_code == 302
    assert again["Location"].startswith(stripe_api.base_url) and again["Location"] != first
    assert len(stripe_api.objects("account")) == 1  # the same account, a new link
    learner = with_admin_access(user(email="learner@example.com"))
    refused = signed_in(learner).get(reverse("studio_get_paid_refresh"))
    assert refused.status_code in (302, 403)
    assert not refused.get("Location", "").startswith(stripe_api.base_url)
    assert len(stripe_api.objects("account")) == 1  # nothing made for them
