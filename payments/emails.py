"""The e-mails of the payments app, written to the outbox (``accounts/outbox.py``).

The services call these inside the transaction that records what the e-mail reports, so the
row commits with the change and a worker sends it after commit. Each has a dedupe key: one
e-mail per order and kind, however often the event that causes it is applied.
"""

from django.conf import settings
from django.urls import reverse

from accounts.outbox import outbound_email, queue_email, queue_message
from config.mail import absolute_url, build_email
from config.ownership import page_owner

from .models import Order


def _order(order_id) -> Order:
    return Order.objects.select_related("buyer", "course", "workshop_registration__workshop").get(
        pk=order_id
    )


def _context(order: Order) -> dict:
    return {
        "order": order,
        "learner_name": order.buyer.first_name or order.buyer.email,
        "dashboard_url": absolute_url(reverse("dashboard")),
        "is_workshop_seat": order.is_workshop_seat,
    }


def _item_url(order) -> str:
    """Where the bought course or workshop is, or the site when its page is gone."""
    item = order.item_page
    return absolute_url(item.url) if item is not None else settings.SITE_URL


def _queue_to_buyer(order: Order, *, name: str, subject: str, context: dict) -> None:
    queue_message(
        build_email(to=order.buyer.email, subject=subject, template=name, context=context),
        kind=f"payments.{name}",
        user=order.buyer,
        dedupe_key=f"payments.{name}:{order.pk}",
    )


def queue_payment_confirmation(*, order_id) -> None:
    """The receipt. For a workshop seat it only says what was paid: the seat itself, with the
    time and the calendar invite, is in workshops' "You're registered" e-mail."""
    order = _order(order_id)
    _queue_to_buyer(
        order,
        name="payment_confirmation",
        subject=f"Payment received: {order.item_title}",
        context={**_context(order), "item_url": _item_url(order)},
    )


def queue_refund_confirmation(*, order_id) -> None:
    order = _order(order_id)
    _queue_to_buyer(
        order,
        name="refund_confirmation",
        subject=f"Refund issued: {order.item_title}",
        context=_context(order),
    )


def queue_already_owned_refund(*, order_id) -> None:
    """A second payment for a course the buyer already had: refunded at once, and said so."""
    order = _order(order_id)
    _queue_to_buyer(
        order,
        name="already_owned_refunded",
        subject=f"Refund issued: you already have {order.item_title}",
        context={**_context(order), "item_url": _item_url(order)},
    )


def queue_dispute_alert(*, order_id) -> None:
    """Tell staff (settings.ADMINS, one row each) that a buyer disputed a charge."""
    order = _order(order_id)
    for _name, address in settings.ADMINS:
        queue_email(
            outbound_email(
                to=address,
                from_email=settings.SERVER_EMAIL,
                subject=f"{settings.EMAIL_SUBJECT_PREFIX}Dispute opened on order {order.pk}",
                text=(
                    f"The buyer {order.buyer.email} disputed {order.amount_display} for "
                    f"“{order.item_title}” (payment {order.stripe_payment_intent_id}).\n"
                    "Answer it in the Stripe dashboard; the order is flagged in the admin."
                ),
                kind="payments.dispute_alert",
                dedupe_key=f"payments.dispute_alert:{order.pk}:{address}",
            )
        )


def queue_dispute_closed(*, order_id) -> None:
    """Tell staff (settings.ADMINS, one row each) how a dispute ended, and whether the buyer's
    access ended with it."""
    order = _order(order_id)
    lost = order.dispute_status == "lost"
    outcome = order.dispute_status or "unknown"
    for _name, address in settings.ADMINS:
        queue_email(
            outbound_email(
                to=address,
                from_email=settings.SERVER_EMAIL,
                subject=(
                    f"{settings.EMAIL_SUBJECT_PREFIX}Dispute closed ({outcome}) on order {order.pk}"
                ),
                text=(
                    f"The dispute of {order.buyer.email} over {order.amount_display} for "
                    f"“{order.item_title}” (payment {order.stripe_payment_intent_id}) is closed: "
                    f"{outcome}.\n"
                    + (
                        "The buyer's access has ended. On a destination charge the platform's "
                        "balance paid the disputed amount; reverse the creator's transfer in "
                        "Stripe's dashboard to recover their share.\n"
                        if lost
                        else "Nothing changes for the buyer.\n"
                    )
                ),
                kind="payments.dispute_closed",
                dedupe_key=f"payments.dispute_closed:{order.pk}:{address}",
            )
        )


def queue_creator_dispute_notice(*, order_id) -> None:
    """Tell the item's creator that a buyer disputed a sale, or how the dispute ended."""
    order = _order(order_id)
    item = order.item_page
    creator = page_owner(item) if item is not None else None
    if creator is None:
        return  # the platform's own item: staff were told
    closed = order.dispute_closed_at is not None
    subject = (
        f"Dispute closed ({order.dispute_status}): {order.item_title}"
        if closed
        else f"A buyer disputed a payment: {order.item_title}"
    )
    message = build_email(
        to=creator.email,
        subject=subject,
        template="creator_dispute",
        context={
            **_context(order),
            "creator_name": creator.first_name or creator.email,
            "closed": closed,
            "lost": order.dispute_status == "lost",
        },
    )
    queue_message(
        message,
        kind="payments.creator_dispute",
        user=creator,
        dedupe_key=f"payments.creator_dispute:{order.pk}:{'closed' if closed else 'opened'}",
    )
