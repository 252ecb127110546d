"""The Orders area of the Wagtail admin: staff see all, a creator their own, refunds by POST."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from payments.models import Order
from tests.workshops.factories import paid_workshop

from .factories import paid_course, storefront, user
from .helpers import buy_and_get_order, latest_event

pytestmark = pytest.mark.django_db

INDEX = "/admin/orders/"


def with_admin_access(user):
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    return user


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff():
    return with_admin_access(user(email="staff@example.com", is_staff=True))


@pytest.fixture
def creator(creator):
    return with_admin_access(creator)


@pytest.fixture
def other_creator():
    return with_admin_access(user(email="theo@example.com"))


@pytest.fixture
def other_course(other_creator):
    page = storefront(title="Theo Lindqvist", creator=other_creator)
    return paid_course(storefront_page=page, title="Practical SQL", price_amount=1500)


@pytest.fixture
def paid_order(buyer_client, course, stripe_api, deliver) -> Order:
    order = buy_and_get_order(buyer_client, course)
    stripe_api.pay(order.stripe_checkout_session_id)
    assert deliver(latest_event(stripe_api, "checkout.session.completed")).status_code == 200
    order.refresh_from_db()
    return order


@pytest.fixture
def other_order(other_course, stripe_api) -> Order:
    return buy_and_get_order(signed_in(user(email="sam@example.com")), other_course)


def rows(response) -> str:
    assert response.status_code == 200, response
    return response.content.decode()


# -- who sees what -------------------------------------------------------------------------------


def test_staff_see_every_order_with_buyer_item_amount_and_status(staff, paid_order, other_order):
    html = rows(signed_in(staff).get(INDEX))

    assert "Sourdough in 7 days" in html and "Practical SQL" in html
    assert "buyer@example.com" in html and "sam@example.com" in html
    assert "€49.00" in html and "€15.00" in html
    assert "Paid" in html and "Pending" in html
    assert reverse("orders:inspect", args=[paid_order.pk]) in html


def test_a_creator_sees_only_their_own_courses_orders(creator, paid_order, other_order):
    html = rows(signed_in(creator).get(INDEX))

    assert "Sourdough in 7 days" in html
    assert "Practical SQL" not in html
    assert "sam@example.com" not in html


def test_a_creator_cannot_open_another_creators_order(creator, other_order):
    response = signed_in(creator).get(reverse("orders:inspect", args=[other_order.pk]))

    assert response.status_code == 404


def test_a_learner_with_admin_access_but_no_storefront_sees_no_orders(paid_order):
    learner = with_admin_access(user(email="nosy@example.com"))

    assert signed_in(learner).get(INDEX).status_code in (302, 403)


def test_the_orders_menu_item_is_shown_to_staff_and_creators(staff, creator, course):
    for member in (staff, creator):
        html = rows(signed_in(member).get("/admin/"))
        assert INDEX in html, member


def test_orders_are_never_added_edited_or_deleted_by_hand(staff, paid_order):
    for name, args in [("add", []), ("edit", [paid_order.pk]), ("delete", [paid_order.pk])]:
        with pytest.raises(NoReverseMatch):
            reverse(f"orders:{name}", args=args)
    assert signed_in(staff).get(f"{INDEX}new/").status_code == 404


def test_the_list_costs_the_same_queries_for_few_and_many_orders(
    staff, course, stripe_api, django_assert_max_num_queries
):
    client = signed_in(staff)

    def make_orders(count: int) -> None:
        for _ in range(count):
            Order.objects.create(
                buyer=user(),
                course=course,
                item_title=course.title,
                amount=4900,
                currency="EUR",
            )

    make_orders(2)
    client.get(INDEX)  # warm up caches (site, permissions)
    with CaptureQueriesContext(connection) as few:
        rows(client.get(INDEX))
    make_orders(10)
    with django_assert_max_num_queries(len(few)):
        html = rows(client.get(INDEX))
    assert html.count("Sourdough in 7 days") >= 12


# -- filters -------------------------------------------------------------------------------------


def test_filter_by_status(staff, paid_order, other_order):
    html = rows(signed_in(staff).get(INDEX, {"status": "paid"}))

    assert "Sourdough in 7 days" in html
    assert "Practical SQL" not in html


def test_filter_by_creator(staff, paid_order, other_order, other_course):
    storefront_page = other_course.get_parent()

    html = rows(signed_in(staff).get(INDEX, {"creator": storefront_page.pk}))

    assert "Practical SQL" in html
    assert "Sourdough in 7 days" not in html


def test_filter_by_date(staff, paid_order, other_order):
    Order.objects.filter(pk=other_order.pk).update(created_at=timezone.now() - timedelta(days=40))
    today = timezone.localdate()

    html = rows(
        signed_in(staff).get(
            INDEX,
            {
                "created_at_from": (today - timedelta(days=1)).isoformat(),
                "created_at_to": today.isoformat(),
            },
        )
    )

    assert "Sourdough in 7 days" in html
    assert "Practical SQL" not in html


def test_filter_disputed(staff, paid_order, other_order):
    Order.objects.filter(pk=paid_order.pk).update(disputed_at=timezone.now())

    html = rows(signed_in(staff).get(INDEX, {"disputed": "true"}))

    assert "Sourdough in 7 days" in html
    assert "Practical SQL" not in html


def test_search_by_buyer_email(staff, paid_order, other_order):
    html = rows(signed_in(staff).get(INDEX, {"q": "sam@"}))

    assert "Practical SQL" in html
    assert "Sourdough in 7 days" not in html


# -- the detail page and the Refund button ---------------------------------------------------------


def test_detail_page_shows_the_order_and_a_refund_button(staff, paid_order, stripe_api):
    html = rows(signed_in(staff).get(reverse("orders:inspect", args=[paid_order.pk])))

    assert "buyer@example.com" in html
    assert "€49.00" in html
    assert "Amount display" not in html  # labelled "Amount"
    assert paid_order.stripe_payment_intent_id in html
    # The button leads to a confirmation step that names the amount, whose form posts the refund.
    assert reverse("orders:refund_confirm", args=[paid_order.pk]) in html
    confirm = signed_in(staff).get(reverse("orders:refund_confirm", args=[paid_order.pk]))
    confirm_html = confirm.content.decode()
    assert "Yes, refund €49.00" in confirm_html and "buyer@example.com" in confirm_html
    assert f'action="{reverse("orders:refund", args=[paid_order.pk])}"' in confirm_html
    assert 'name="csrfmiddlewaretoken"' in confirm_html
    assert stripe_api.objects("refund") == []  # asking is not refunding


def test_staff_refund_from_the_admin(staff, paid_order, stripe_api):
    client = signed_in(staff)

    response = client.post(reverse("orders:refund", args=[paid_order.pk]), follow=True)

    assert response.redirect_chain[-1][0] == reverse("orders:inspect", args=[paid_order.pk])
    assert "Refund of €49.00 requested" in response.content.decode()
    assert len(stripe_api.objects("refund")) == 1
    paid_order.refresh_from_db()
    assert paid_order.refund_requested_at is not None


def test_creator_refund_after_the_window_shows_why_and_refunds_nothing(
    creator, paid_order, stripe_api
):
    Order.objects.filter(pk=paid_order.pk).update(paid_at=timezone.now() - timedelta(days=15))
    client = signed_in(creator)

    detail = rows(client.get(reverse("orders:inspect", args=[paid_order.pk])))
    response = client.post(reverse("orders:refund", args=[paid_order.pk]), follow=True)

    assert "Creators can refund within 14 days of payment." in detail
    assert "Creators can refund within 14 days of payment." in response.content.decode()
    assert stripe_api.objects("refund") == []


def test_creator_refund_within_the_window(creator, paid_order, stripe_api):
    response = signed_in(creator).post(reverse("orders:refund", args=[paid_order.pk]))

    assert response.status_code == 302
    assert len(stripe_api.objects("refund")) == 1


def test_creator_cannot_refund_another_creators_order(creator, course, other_order, stripe_api):
    response = signed_in(creator).post(reverse("orders:refund", args=[other_order.pk]))

    assert response.status_code == 404
    assert stripe_api.objects("refund") == []


def test_refund_needs_the_csrf_token(staff, paid_order, stripe_api):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)

    response = client.post(reverse("orders:refund", args=[paid_order.pk]))

    assert response.status_code == 403
    assert stripe_api.objects("refund") == []


def test_refund_is_post_only(staff, paid_order, stripe_api):
    response = signed_in(staff).get(reverse("orders:refund", args=[paid_order.pk]))

    assert response.status_code == 405
    assert stripe_api.objects("refund") == []


def test_stripe_refusing_the_refund_is_shown_not_a_500(staff, paid_order, stripe_api):
    # A disputed charge can't be refunded: Stripe says so, and the admin shows it.
    stripe_api.create_dispute(paid_order.stripe_payment_intent_id or "")

    response = signed_in(staff).post(reverse("orders:refund", args=[paid_order.pk]), follow=True)

    assert response.status_code == 200
    assert "Stripe refused the refund" in response.content.decode()
    paid_order.refresh_from_db()
    assert paid_order.refund_requested_at is None


# Workshop seats are orders too


@pytest.fixture
def seat_order(other_creator, stripe_api, deliver) -> Order:
    """A paid seat at a workshop of the other creator."""
    page = storefront(title="Theo Lindqvist", creator=other_creator)
    workshop = paid_workshop(parent=page, title="SQL window functions, live", price_amount=3000)
    client = signed_in(user(email="kim@example.com"))
    response = client.post(reverse("payments:buy_workshop", args=[workshop.pk]))
    order = Order.objects.get(stripe_checkout_url=response["Location"])
    stripe_api.pay(order.stripe_checkout_session_id)
    assert deliver(latest_event(stripe_api, "checkout.session.completed")).status_code == 200
    order.refresh_from_db()
    return order


def test_staff_see_and_filter_workshop_orders(staff, paid_order, seat_order):
    html = rows(signed_in(staff).get(INDEX))
    assert "SQL window functions, live" in html and "€30.00" in html
    assert "Workshop seat" in html and "Course" in html

    seats_only = rows(signed_in(staff).get(INDEX, {"kind": "workshop"}))
    assert "SQL window functions, live" in seats_only
    assert "Sourdough in 7 days" not in seats_only

    storefront_page = Order.objects.get(pk=seat_order.pk).item_page.get_parent()
    by_creator = rows(signed_in(staff).get(INDEX, {"creator": storefront_page.pk}))
    assert "SQL window functions, live" in by_creator
    assert "Sourdough in 7 days" not in by_creator


def test_the_workshops_creator_sees_and_refunds_its_seat_orders_only(
    creator, other_creator, paid_order, seat_order, stripe_api
):
    assert "SQL window functions, live" not in rows(signed_in(creator).get(INDEX))
    theo = signed_in(other_creator)
    html = rows(theo.get(INDEX))
    assert "SQL window functions, live" in html
    assert "Sourdough in 7 days" not in html
    assert (
        "Their seat is freed"
        in theo.get(reverse("orders:inspect", args=[seat_order.pk])).content.decode()
    )

    response = theo.post(reverse("orders:refund", args=[seat_order.pk]))

    assert response.status_code == 302
    [refund] = stripe_api.objects("refund")
    assert refund["metadata"] == {"order_id": str(seat_order.pk)}


def test_the_refund_confirmation_names_a_typed_partial_amount_and_refuses_nonsense(
    staff, paid_order, stripe_api
):
    confirm_url = reverse("orders:refund_confirm", args=[paid_order.pk])

    html = signed_in(staff).get(confirm_url, {"amount": "10.00", "reason": "late"}).content
    page = html.decode()
    assert "Yes, refund €10.00" in page
    assert 'name="amount" value="10.00"' in page and 'name="reason" value="late"' in page

    nonsense = signed_in(staff).get(confirm_url, {"amount": "ten euros"})
    assert nonsense.status_code == 200
    assert "Yes, refund" not in nonsense.content.decode()
    assert stripe_api.objects("refund") == []  # asking is not refunding
