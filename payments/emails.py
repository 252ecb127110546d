"""The e-mails of the payments app."""

from django.conf import settings
from django.core.mail import mail_admins
from django.urls import reverse

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


def send_payment_confirmation(*, order_id) -> None:
    """The receipt. For a workshop seat it only says what was paid: the seat itself, with the
    time and the calendar invite, is in workshops' "You're registered" e-mail."""
    order = _order(order_id)
    build_email(
        to=order.buyer.email,
        subject=f"Payment received: {order.item_title}",
        template="payment_confirmation",
        context={**_context(order), "item_url": _item_url(order)},
    ).send()


def send_refund_confirmation(*, order_id) -> None:
    order = _order(order_id)
    build_email(
        to=order.buyer.email,
        subject=f"Refund issued: {order.item_title}",
        template="refund_confirmation",
        context=_context(order),
    ).send()


def send_already_owned_refund(*, order_id) -> None:
    """A second payment for a course the buyer already had: refunded at once, and said so."""
    order = _order(order_id)
    build_email(
        to=order.buyer.email,
        subject=f"Refund issued: you already have {order.item_title}",
        template="already_owned_refunded",
        context={**_context(order), "item_url": _item_url(order)},
    ).send()


def send_dispute_alert(*, order_id) -> None:
    """Tell staff (settings.ADMINS) that a buyer disputed a charge with their bank."""
    order = _order(order_id)
    mail_admins(
        subject=f"Dispute opened on order {order.pk}",
        message=(
            f"The buyer {order.buyer.email} disputed {order.amount_display} for "
            f"“{order.item_title}” (payment {order.stripe_payment_intent_id}).\n"
            "Answer it in the Stripe dashboard; the order is flagged in the admin."
        ),
    )


def send_dispute_closed(*, order_id) -> None:
    """Tell staff how a dispute ended (and whether the buyer's access ended with it)."""
    order = _order(order_id)
    lost = order.dispute_status == "lost"
    mail_admins(
        subject=f"Dispute closed ({order.dispute_status or 'unknown'}) on order {order.pk}",
        message=(
            f"The dispute of {order.buyer.email} over {order.amount_display} for "
            f"“{order.item_title}” (payment {order.stripe_payment_intent_id}) is closed: "
            f"{order.dispute_status or 'unknown'}.\n"
            + (
                "The buyer's access has ended. On a destination charge the platform's balance "
                "paid the disputed amount; reverse the creator's transfer in Stripe's dashboard "
                "to recover their share.\n"
                if lost
                else "Nothing changes for the buyer.\n"
            )
        ),
    )


def send_creator_dispute_notice(*, order_id) -> None:
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
    build_email(
        to=creator.email,
        subject=subject,
        template="creator_dispute",
        context={
            **_context(order),
            "creator_name": creator.first_name or creator.email,
            "closed": closed,
            "lost": order.dispute_status == "lost",
        },
    ).send()
