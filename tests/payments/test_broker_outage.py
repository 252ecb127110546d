"""A broker outage is never a 500, and the e-mails of what happened during it go out once it
is back (issue 11). Real parts throughout: the web side publishes for real to a Redis port where
nothing listens; then a real ``celery worker`` subprocess on the real Redis runs the outbox
sweeper and sends to a loopback SMTP server; Stripe is the emulator through the real client.
"""

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts import tasks as account_tasks
from accounts.models import OutboundEmail
from accounts.outbox import SWEEP_GRACE, outbound_email, queue_email
from courses.models import Enrollment, LessonDelivery
from payments.models import Order
from tests.courses.factories import course
from tests.home.factories import creator_page
from tests.support.smtp import smtp_server
from tests.support.waiting import wait_for
from tests.support.worker import (
    broker_not_eager,
    broker_unreachable,
    celery_worker,
    purge_queue,
)
from tests.workshops.factories import a_learner, paid_workshop, workshop_page
from workshops.models import Registration

from .factories import paid_course
from .helpers import buy_and_get_order, latest_event, post_webhook, sign

pytestmark = [
    # Real commits: the worker process must see the rows.
    pytest.mark.django_db(transaction=True),
]

DELIVERY_TIMEOUT = 60.0


def pay_and_post_the_webhook(client, stripe_api, order: Order):
    """The buyer pays on Stripe's page; Stripe posts the signed event to our webhook."""
    stripe_api.pay(order.stripe_checkout_session_id)
    body = json.dumps(latest_event(stripe_api, "checkout.session.completed"))
    return post_webhook(client, body, sign(body, settings.STRIPE_WEBHOOK_SECRET))


def test_with_the_broker_down_pages_and_webhooks_answer_and_their_emails_arrive_once_after(
    client, stripe_api, tmp_path
):
    free_workshop = workshop_page(title="Shaping basics")
    paid = paid_workshop(
        parent=creator_page(title="Maya Okafor", slug="maya-okafor"),
        title="Laminated dough",
        price_amount=2500,
        currency="EUR",
    )
    free_course = course(lessons=2)
    paid_sourdough = paid_course()
    ada = a_learner(email="ada@example.com", first_name="Ada")
    bea = a_learner(email="bea@example.com", first_name="Bea")

    with broker_unreachable():
        signed_up = client.post(
            reverse("account_signup"),
            {
                "email": "newcomer@example.com",
                "password1": "a-long-enough-passphrase",
                "password2": "a-long-enough-passphrase",
            },
        )
        client.force_login(ada)
        registered = client.post(reverse("workshops:register", args=[free_workshop.pk]))
        enrolled = client.post(reverse("courses:enroll", args=[free_course.pk]))
        client.force_login(bea)
        checkout = client.post(reverse("payments:buy_workshop", args=[paid.pk]))
        order = Order.objects.get(stripe_checkout_url=checkout["Location"])
        seat_paid = pay_and_post_the_webhook(client, stripe_api, order)
        course_order = buy_and_get_order(client, paid_sourdough)
        course_paid = pay_and_post_the_webhook(client, stripe_api, course_order)

    assert [signed_up.status_code, registered.status_code, enrolled.status_code] == [302] * 3
    assert (checkout.status_code, seat_paid.status_code, course_paid.status_code) == (303, 200, 200)
    assert Registration.objects.get(learner=ada).status == Registration.Status.CONFIRMED
    assert LessonDelivery.objects.filter(enrollment__learner=ada).count() == 2
    assert Enrollment.objects.filter(learner=ada, course=free_course).exists()
    assert set(Order.objects.values_list("status", flat=True)) == {Order.Status.PAID}
    assert Enrollment.objects.filter(learner=bea, course=paid_sourdough).exists()
    assert Registration.objects.get(learner=bea).status == Registration.Status.CONFIRMED
    # Nothing went out: the four e-mails wait on the outbox.
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {"pending"}

    expected = sorted(
        [
            ("ada@example.com", "You're registered: Shaping basics"),
            ("bea@example.com", "You're registered: Laminated dough"),
            ("bea@example.com", "Payment received: Laminated dough"),
            ("bea@example.com", "Payment received: Sourdough in 7 days"),
        ]
    )
    with smtp_server() as sink, broker_not_eager():
        purge_queue()
        with celery_worker(smtp_port=sink.port, log_path=tmp_path / "worker.log"):
            # Beat's sweep, a minute later (the rows' own tasks never reached the broker).
            later = (timezone.now() + SWEEP_GRACE + timedelta(seconds=1)).isoformat()
            account_tasks.sweep_outbox.delay(now=later)
            wait_for(lambda: sink.count >= 4, timeout=DELIVERY_TIMEOUT, what="four e-mails")
            # Sweeping again sends nothing twice. The worker runs one task at a time, in
            # order: once the marker e-mail queued after it has arrived, the sweep has run.
            account_tasks.sweep_outbox.delay(now=later)
            queue_email(
                outbound_email(to="marker@example.com", subject="M", text=".", kind="tests.marker")
            )
            wait_for(lambda: sink.count >= 5, timeout=DELIVERY_TIMEOUT, what="the marker")

    arrived = sorted((message["To"], message["Subject"]) for message in sink.messages())
    assert arrived == sorted([*expected, ("marker@example.com", "M")])
    assert set(OutboundEmail.objects.values_list("status", "attempts")) == {("sent", 1)}
