"""The payments e-mails: a text and an HTML part each, with the item, the amount and a link.

Each is written to the outbox (accounts/outbox.py) and sent after commit by its task (eager
here, through Django's locmem backend)."""

import pytest
from django.utils import timezone

from accounts.models import OutboundEmail
from payments import emails, tasks
from payments.models import Order

from .factories import paid_course

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(buyer) -> Order:
    # A title with characters HTML escapes: the text part must show them as they are.
    course = paid_course(
        title="Bread & Butter <Basics>", slug="bread", price_amount=1500, currency="JPY"
    )
    return Order.objects.create(
        buyer=buyer,
        course=course,
        item_title=course.title,
        amount=1500,
        currency="JPY",
        status=Order.Status.PAID,
        paid_at=timezone.now(),
    )


def parts(message) -> tuple[str, str]:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return message.body, html


def test_payment_confirmation(order, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        emails.queue_payment_confirmation(order_id=order.pk)

    [message] = mailoutbox
    assert message.to == ["buyer@example.com"]
    assert message.subject == "Payment received: Bread & Butter <Basics>"
    text, html = parts(message)
    assert text.startswith("Hello Bea,")
    assert "Bread & Butter <Basics>" in text
    assert "&amp;" not in text
    assert "¥1,500" in text
    assert "http://testserver/maya-okafor-" in text  # the course, as an absolute link
    assert "http://testserver/dashboard/" in text
    assert str(order.pk) in text
    assert "Bread &amp; Butter &lt;Basics&gt;" in html
    assert "<Basics>" not in html
    assert "¥1,500" in html
    assert 'href="http://testserver/maya-okafor-' in html
    assert 'href="http://testserver/dashboard/"' in html
    assert "<title>Payment received: Bread &amp; Butter &lt;Basics&gt;</title>" in html


def test_refund_confirmation(order, mailoutbox, django_capture_on_commit_callbacks):
    Order.objects.filter(pk=order.pk).update(status=Order.Status.REFUNDED)

    with django_capture_on_commit_callbacks(execute=True):
        emails.queue_refund_confirmation(order_id=order.pk)

    [message] = mailoutbox
    assert message.to == ["buyer@example.com"]
    assert message.subject == "Refund issued: Bread & Butter <Basics>"
    text, html = parts(message)
    assert "Bread & Butter <Basics>" in text
    assert "Refunded: ¥1,500" in text
    assert "Access to the course has ended." in text
    assert "Bread &amp; Butter &lt;Basics&gt;" in html
    assert "¥1,500" in html
    assert 'href="http://testserver/dashboard/"' in html


def test_dispute_alert_goes_to_staff(
    order, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.ADMINS = [("Staff", "staff@example.com")]

    with django_capture_on_commit_callbacks(execute=True):
        emails.queue_dispute_alert(order_id=order.pk)

    [message] = mailoutbox
    assert message.to == ["staff@example.com"]
    assert str(order.pk) in message.subject
    assert "buyer@example.com" in message.body
    assert "¥1,500" in message.body
    assert "Bread & Butter <Basics>" in message.body


def test_dispute_alert_without_staff_addresses_sends_nothing(
    order, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.ADMINS = []

    with django_capture_on_commit_callbacks(execute=True):
        emails.queue_dispute_alert(order_id=order.pk)

    assert mailoutbox == []


def test_the_same_receipt_queued_twice_is_one_row_and_one_email(
    order, mailoutbox, django_capture_on_commit_callbacks
):
    # A replayed event reaching the same state change again: the dedupe key keeps one row.
    with django_capture_on_commit_callbacks(execute=True):
        emails.queue_payment_confirmation(order_id=order.pk)
        emails.queue_payment_confirmation(order_id=order.pk)

    assert OutboundEmail.objects.filter(kind="payments.payment_confirmation").count() == 1
    assert len(mailoutbox) == 1


def test_a_receipt_task_queued_by_the_previous_release_writes_one_outbox_row(
    order, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        emails.queue_payment_confirmation(order_id=order.pk)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.send_payment_confirmation(str(order.pk))  # its old task, still in the queue

    assert OutboundEmail.objects.filter(kind="payments.payment_confirmation").count() == 1
    assert len(mailoutbox) == 1
