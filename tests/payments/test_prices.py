"""Prices typed in major units and checked against Stripe's minimum charge: one table
(``config.money``) for the editor, the model and the Stripe emulator."""

import pytest
import stripe
from django.core.exceptions import ValidationError
from django.urls import reverse

from config.money import (
    MINIMUM_CHARGE,
    InvalidAmount,
    minimum_charge,
    parse_major_units,
    price_problem,
    to_major_units,
)
from courses.models import CoursePage
from payments import gateway
from payments.emulator import money as emulator_money
from tests.courses.factories import course_page
from tests.home.factories import creator_page

from .helpers import course_editor_data

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("19.00", "EUR", 1900),
        ("19", "EUR", 1900),
        ("19,5", "EUR", 1950),
        ("0.50", "USD", 50),
        ("1900", "JPY", 1900),
        ("1.234", "KWD", 1234),
        ("0", "EUR", 0),
    ],
)
def test_major_units_become_the_exact_minor_unit_count(text, currency, minor):
    assert parse_major_units(text, currency) == minor
    if minor:
        assert parse_major_units(to_major_units(minor, currency), currency) == minor


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("19.5", "JPY", "JPY has no smaller unit: enter a whole amount."),
        ("19.001", "EUR", "Enter at most 2 decimals."),
        ("-5", "EUR", "Enter an amount such as 19.00."),
        ("abc", "JPY", "Enter an amount such as 1900."),
        ("19.", "EUR", "Enter an amount such as 19.00."),
    ],
)
def test_text_that_is_no_amount_of_the_currency_is_refused(text, currency, message):
    with pytest.raises(InvalidAmount) as refused:
        parse_major_units(text, currency)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("currency", "too_small", "smallest", "message"),
    [
        ("EUR", 49, 50, "Stripe can't charge less than €0.50"),
        ("USD", 49, 50, "Stripe can't charge less than $0.50"),
        ("JPY", 49, 50, "Stripe can't charge less than ¥50"),
    ],
)
def test_minimum_price_per_currency(currency, too_small, smallest, message):
    assert minimum_charge(currency) == smallest
    problem = price_problem(too_small, currency)
    assert problem is not None and problem.startswith(message)
    assert price_problem(smallest, currency) is None
    assert price_problem(0, currency) is None  # free is always fine


def test_the_emulator_reads_the_same_table():
    assert {
        code.lower(): amount for code, amount in MINIMUM_CHARGE.items()
    } == emulator_money.MINIMUM_CHARGE
    assert emulator_money.decimals("jpy") == 0
    assert emulator_money.decimals("eur") == 2


def test_the_emulator_refuses_a_session_below_the_minimum_like_stripe(stripe_api):
    with pytest.raises(stripe.InvalidRequestError) as refused:
        gateway.client().v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": "jpy",
                            "unit_amount": 49,
                            "product_data": {"name": "Too cheap"},
                        },
                    }
                ],
                "success_url": "http://testserver/ok",
            }
        )
    assert refused.value.code == "amount_too_small"
    assert "at least ¥50 jpy" in str(refused.value)


def test_a_one_cent_course_cannot_be_saved():
    course = course_page(title="Penny course", price_amount=4900)
    course.price_amount = 1
    with pytest.raises(ValidationError) as refused:
        course.full_clean()
    assert refused.value.message_dict["price_amount"][0].startswith(
        "Stripe can't charge less than €0.50"
    )


def _add_course(client, parent, **fields):
    return client.post(
        reverse("wagtailadmin_pages:add", args=["courses", "coursepage", parent.pk]),
        course_editor_data(**fields),
    )


@pytest.fixture
def storefront(admin_client):
    return creator_page(title="Maya Okafor", slug="maya")


@pytest.mark.parametrize(
    ("typed", "currency", "stored"),
    [("19.00", "EUR", 1900), ("0.50", "USD", 50), ("1900", "JPY", 1900), ("0", "EUR", 0)],
)
def test_the_editor_takes_the_price_in_major_units(
    admin_client, storefront, typed, currency, stored
):
    response = _add_course(admin_client, storefront, price_amount=typed, currency=currency)

    assert response.status_code == 302, response.context["form"].errors
    course = CoursePage.objects.get(slug="knife-skills")
    assert (course.price_amount, course.currency) == (stored, currency)


@pytest.mark.parametrize(
    ("typed", "currency", "error"),
    [
        ("0.30", "EUR", "Stripe can't charge less than €0.50: enter at least that, or 0"),
        ("0.49", "USD", "Stripe can't charge less than $0.50: enter at least that, or 0"),
        ("49", "JPY", "Stripe can't charge less than ¥50: enter at least that, or 0"),
        ("19.5", "JPY", "JPY has no smaller unit: enter a whole amount."),
    ],
)
def test_the_editor_refuses_a_price_stripe_would_refuse_and_saves_nothing(
    admin_client, storefront, typed, currency, error
):
    response = _add_course(admin_client, storefront, price_amount=typed, currency=currency)

    assert response.status_code == 200
    [message] = response.context["form"].errors["price_amount"]
    assert message.startswith(error)
    assert not CoursePage.objects.filter(slug="knife-skills").exists()


def test_the_editor_shows_a_stored_price_in_major_units(admin_client):
    course = course_page(title="Knife skills", price_amount=1950, currency="EUR")

    response = admin_client.get(reverse("wagtailadmin_pages:edit", args=[course.pk]))

    assert response.status_code == 200
    assert response.context["form"]["price_amount"].value() == "19.50"
