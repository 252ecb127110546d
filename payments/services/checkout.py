"""Starting a Checkout Session for a course or a workshop seat, and closing one unpaid."""

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import User
from config.mail import absolute_url
from courses import services as course_services
from courses.models import CoursePage, Enrollment
from workshops import services as workshop_services
from workshops.models import Registration, WorkshopPage

from .. import gateway
from ..models import Order
from .common import CheckoutError, CheckoutStart, _locked_order, _now
from .fulfilment import fulfil


def start_checkout(
    *, buyer: User, course: CoursePage, now: datetime | None = None
) -> CheckoutStart:
    """Where to send a buyer who clicked Buy: Stripe's page for an open order, or the course.

    A double click finds the first click's order (the buyer's row lock serialises them) and
    reuses its session, so one purchase never makes two Checkout Sessions.
    """
    now = _now(now)
    if course.is_free:
        raise CheckoutError(_("This course is free: enrol from its page."))
    with transaction.atomic():
        User.objects.select_for_update().get(pk=buyer.pk)
        try:
            # A payment could not reopen a refunded enrollment: refuse before taking money.
            course_services.ensure_may_enroll(learner=buyer, course=course)
        except course_services.EnrollmentError as refusal:
            raise CheckoutError(str(refusal)) from refusal
        enrollment = Enrollment.objects.filter(learner=buyer, course=course).first()
        if enrollment is not None:
            return CheckoutStart(redirect_url=course.url, order=None)
        # Reuse an open session only while the buyer still has time to pay on it.
        open_order = _open_order(
            Order.objects.filter(buyer=buyer, course=course),
            live_after=now + timedelta(minutes=5),
        )
        if open_order is not None:
            return CheckoutStart(redirect_url=open_order.stripe_checkout_url, order=open_order)
        order = _create_order_with_session(
            buyer=buyer,
            item=course,
            item_fields={"course": course},
            description=f"A course by {course.creator_page.title}",
            expires_at=now + timedelta(minutes=gateway.CHECKOUT_LIFETIME_MINUTES),
        )
    return CheckoutStart(redirect_url=order.stripe_checkout_url, order=order)


def start_workshop_checkout(
    *, buyer: User, workshop: WorkshopPage, now: datetime | None = None
) -> CheckoutStart:
    """Hold a seat for ``buyer`` and send them to Stripe's page to pay for it.

    - a confirmed seat already: back to the workshop page (``order`` is None);
    - a held seat with an open session (a double click, "Complete payment"): that session;
    - otherwise ``hold_seat`` (which also takes the buyer's own waitlist offer, or finds the
      seat a waitlist claim left held) and a new order whose session ends with the hold.

    All in one transaction: a sold-out workshop or a Stripe failure writes nothing and holds
    no seat. Raises ``CheckoutError`` (fit to show) or ``stripe.StripeError``.
    """
    now = _now(now)
    if workshop.is_free:
        raise CheckoutError(_("This workshop is free: register from its page."))
    with transaction.atomic():
        User.objects.select_for_update().get(pk=buyer.pk)
        seat = Registration.objects.filter(
            learner=buyer, workshop=workshop, status__in=Registration.HOLDS_SEAT
        ).first()
        if seat is not None and seat.status == Registration.Status.CONFIRMED:
            return CheckoutStart(redirect_url=workshop.url, order=None)
        if seat is not None:
            # The session lives exactly as long as the hold: any time left is worth reusing.
            open_order = _open_order(
                Order.objects.filter(buyer=buyer, workshop_registration=seat), live_after=now
            )
            if open_order is not None:
                return CheckoutStart(redirect_url=open_order.stripe_checkout_url, order=open_order)
        try:
            seat = workshop_services.hold_seat(learner=buyer, workshop=workshop, now=now)
        except workshop_services.WorkshopError as problem:
            raise CheckoutError(str(problem)) from problem
        if seat.status == Registration.Status.CONFIRMED:
            return CheckoutStart(redirect_url=workshop.url, order=None)
        # Stripe's minimum session life; a seat held a while ago (a waitlist claim) is held on
        # for as long, so that the session never outlives the hold.
        expires_at = now + timedelta(minutes=gateway.CHECKOUT_LIFETIME_MINUTES)
        if seat.hold_expires_at is not None and seat.hold_expires_at > expires_at:
            expires_at = seat.hold_expires_at
        workshop_services.extend_hold(registration_id=seat.pk, until=expires_at)
        order = _create_order_with_session(
            buyer=buyer,
            item=workshop,
            item_fields={"workshop_registration": seat},
            description=f"A live workshop by {workshop.creator_page.title}",
            expires_at=expires_at,
        )
    return CheckoutStart(redirect_url=order.stripe_checkout_url, order=order)


def _open_order(orders, *, live_after: datetime) -> Order | None:
    """A pending order among ``orders`` whose session is still open after ``live_after``."""
    return (
        orders.filter(status=Order.Status.PENDING, checkout_expires_at__gt=live_after)
        .exclude(stripe_checkout_url="")
        .first()
    )


def _create_order_with_session(
    *,
    buyer: User,
    item: CoursePage | WorkshopPage,
    item_fields: dict[str, Any],
    description: str,
    expires_at: datetime,
) -> Order:
    """The pending order for one item at its current price, and its Checkout Session.

    Call inside the caller's transaction on purpose: if Stripe fails, the order (and whatever
    the caller wrote, such as a held seat) is rolled back and nothing half-written remains.
    """
    order = Order.objects.create(
        buyer=buyer,
        item_title=item.title,
        amount=item.price_amount,
        currency=item.currency,
        checkout_expires_at=expires_at,
        **item_fields,
    )
    session = gateway.create_checkout_session(
        order_id=str(order.pk),
        item_name=item.title,
        item_description=description,
        amount=order.amount,
        currency=order.currency,
        customer_email=buyer.email,
        success_url=absolute_url(reverse("payments:checkout_success", args=[order.pk]))
        + "?session_id={CHECKOUT_SESSION_ID}",
        cancel_url=absolute_url(reverse("payments:checkout_cancel", args=[order.pk])),
        expires_at=expires_at,
    )
    order.stripe_checkout_session_id = session.id
    order.stripe_checkout_url = session.url or ""
    order.save(update_fields=["stripe_checkout_session_id", "stripe_checkout_url"])
    return order


def _close(*, order_id: Any, status: Order.Status) -> bool:
    """Move a pending order to a final unpaid state (expired, cancelled, failed), once."""
    with transaction.atomic():
        order = _locked_order(order_id)
        if order is None or order.status != Order.Status.PENDING:
            return False
        order.status = status
        order.save(update_fields=["status", "updated_at"])
        _release_seat_of(order)
    return True


def _release_seat_of(order: Order) -> None:
    """An unpaid end of a seat's checkout gives the held seat back (``release_hold`` does so
    once), unless another order of the same seat is still open or paid (a new session made
    after this one ran out, before its "expired" event arrived)."""
    registration_id = order.workshop_registration_id
    if registration_id is None:
        return
    still_wanted = (
        Order.objects.filter(
            workshop_registration_id=registration_id,
            status__in=(Order.Status.PENDING, Order.Status.PAID),
        )
        .exclude(pk=order.pk)
        .exists()
    )
    if not still_wanted:
        workshop_services.release_hold(registration_id=registration_id)


def cancel_checkout(*, order: Order) -> bool:
    """The buyer came back from Stripe's page with "cancel": close the session and the order.

    Returns False when there is a payment after all (the order is paid, or its session is
    complete and the webhook will say how it ended), True otherwise. The order stays locked
    while Stripe expires the session, so the ``checkout.session.expired`` event that the expiry
    sends waits and then finds the order cancelled, not "expired". Raises
    ``stripe.StripeError`` if Stripe can't be reached; the order then stays as it was.
    """
    with transaction.atomic():
        order_row = _locked_order(order.pk)
        if order_row is None or order_row.status in (Order.Status.PAID, Order.Status.REFUNDED):
            return False
        if order_row.status != Order.Status.PENDING:
            return True  # already closed unpaid
        session_id = order_row.stripe_checkout_session_id
        if session_id:
            session = gateway.retrieve_checkout_session(session_id)
            if session.status == "complete":
                return False
            if session.status == "open":
                gateway.expire_checkout_session(session_id)
        order_row.status = Order.Status.CANCELLED
        order_row.save(update_fields=["status", "updated_at"])
        _release_seat_of(order_row)
    return True


def refresh_from_stripe(*, order: Order) -> None:
    """The success page's check: if Stripe says the session is paid, fulfil now.

    The webhook does the same; this only spares the buyer a wait when it is slow.
    """
    if order.status != Order.Status.PENDING or not order.stripe_checkout_session_id:
        return
    session = gateway.retrieve_checkout_session(order.stripe_checkout_session_id)
    if session.payment_status == "paid":
        payment_intent = session.payment_intent  # an id, unless expanded
        if payment_intent is not None and not isinstance(payment_intent, str):
            payment_intent = payment_intent.id
        fulfil(order_id=order.pk, payment_intent_id=payment_intent)
