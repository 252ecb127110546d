"""The payments e-mails: a text and an HTML part each, with the item, the amount and a link."""

import pytest
from django.core import mail
from django.utils import timezone

from payments import emails
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


def test_payment_confirmation(order, mailoutbox):
    emails.send_payment_confirmation(order_id=order.pk)

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


def test_refund_confirmation(order, mailoutbox):
    Order.objects.filter(pk=order.pk).update(status=Order.Status.REFUNDED)

    emails.send_refund_confirmation(order_id=order.pk)

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


def test_dispute_alert_goes_to_staff(order, settings):
    settings.ADMINS = [("Staff", "staff@example.com")]

    emails.send_dispute_alert(order_id=order.pk)

    [message] = mail.outbox
    assert message.to == ["staff@example.com"]
    assert str(order.pk) in message.subject
    assert "buyer@example.com" in message.body
    assert "¥1,500" in message.body
    assert "Bread & Butter <Basics>" in message.body


def test_dispute_alert_without_staff_addresses_sends_nothing(order, settings, mailoutbox):
    settings.ADMINS = []

    emails.send_dispute_alert(order_id=order.pk)

    assert mailoutbox == []
