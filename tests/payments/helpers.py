"""Helpers of the payments tests: signing webhooks as Stripe does, clicking Buy."""

import hashlib
import hmac
import time
from typing import Any

from django.urls import reverse
from wagtail.test.utils.form_data import nested_form_data, streamfield

from courses.models import CoursePage
from payments.emulator import StripeEmulator
from payments.models import Order
from payments.services import connect

WEBHOOK_PATH = "/payments/stripe/webhook/"


def sign(body: str, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe sends: ``t=<unix>,v1=<HMAC-SHA256 of "t.body">``."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def post_webhook(client, body: str | bytes, signature: str | None):
    headers = {"Stripe-Signature": signature} if signature is not None else {}
    return client.post(WEBHOOK_PATH, data=body, content_type="application/json", headers=headers)


def latest_event(emulator: StripeEmulator, event_type: str) -> dict[str, Any]:
    events = emulator.events(type=event_type)
    assert events, f"the emulator sent no {event_type}"
    return events[-1]


def buy(client, course: CoursePage):
    """Click Buy: the POST the course page's button makes."""
    return client.post(reverse("payments:buy_course", args=[course.pk]))


def buy_and_get_order(client, course: CoursePage) -> Order:
    response = buy(client, course)
    assert response.status_code == 303, response
    return Order.objects.get(stripe_checkout_url=response["Location"])


def connect_creator(creator, emulator: StripeEmulator, outcome: str = "complete") -> str:
    """Connect ``creator`` as the studio does, press ``outcome`` on the emulator's onboarding
    page, and record the account as the page's next visit does; its Stripe id."""
    link = connect.onboarding_url(
        creator=creator,
        refresh_url="http://testserver/admin/studio/get-paid/refresh/",
        return_url="http://testserver/admin/studio/get-paid/",
    )
    emulator.onboard(link, outcome)
    account = connect.refresh_account(creator=creator)
    assert account is not None
    return account.stripe_account_id


def course_editor_data(**fields) -> dict[str, Any]:
    """The course editor's POST: "Knife skills", free, published, with ``fields`` changed."""
    return nested_form_data(
        {
            "title": "Knife skills",
            "slug": "knife-skills",
            "tagline": "",
            "description": streamfield([]),
            "currency": "EUR",
            "price_amount": "0",
            "schedule_mode": "relative",
            "cohort_start_date": "",
            "outcomes": streamfield([]),
            "faq": streamfield([]),
            "action-publish": "action-publish",
            **fields,
        }
    )
