"""Starting a Checkout Session for a course or a workshop seat, and closing one unpaid."""

from datetime import datetime, timedelta
from typing import Any

import stripe
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import User
from config.mail import absolute_url
from config.ownership import page_owner
from config.queueing import enqueue
from courses import services as course_services
from courses.models import CoursePage, Enrollment
from workshops import services as workshop_services
from workshops.models import Registration, WorkshopPage

from .. import discounts, gateway
from ..models import Order
from . import connect
from .common import CheckoutError, CheckoutStart, _locked_order, _now
from .fulfilment import fulfil


def start_checkout(
    *, buyer: User, course: CoursePage, code: str = "", now: datetime | None = None
) -> CheckoutStart:
    """Where to send a buyer who clicked Buy: Stripe's page for an open order, or the course.

    Three steps, none holding a lock while Stripe answers (architecture.md #11): find or
    commit the buyer's one pending order, ask Stripe for its session (idempotency key: the
    order), save the session on the order. A double click finds the same pending order (a
    partial unique constraint allows one per buyer and course) and Stripe answers its repeated
    request with the same session, so one purchase never makes two Checkout Sessions.
    """
    now = _now(now)
    if course.is_free:
        raise CheckoutError(_("This course is free: enrol from its page."))
    try:
        # A payment could not reopen a refunded enrollment: refuse before taking money.
        course_services.ensure_may_enroll(learner=buyer, course=course)
    except course_services.EnrollmentError as refusal:
        raise CheckoutError(str(refusal)) from refusal
    enrollment = Enrollment.objects.filter(learner=buyer, course=course).first()
    if enrollment is not None:
        return CheckoutStart(redirect_url=course.url, order=None)
    # Reuse an open session only while the buyer still has time to pay on it.
    order = _pending_order(
        Order.objects.filter(buyer=buyer, course=course), live_after=now + timedelta(minutes=5)
    )
    if order is None:
        order = _create_pending_order(
            buyer=buyer,
            item=course,
            payee=_payee_of(course),
            item_fields={"course": course},
            expires_at=now + timedelta(minutes=gateway.CHECKOUT_LIFETIME_MINUTES),
            code=code,
            now=now,
        )
    return CheckoutStart(redirect_url=_session_url(order), order=order)


def start_workshop_checkout(
    *, buyer: User, workshop: WorkshopPage, code: str = "", now: datetime | None = None
) -> CheckoutStart:
    """Hold a seat for ``buyer`` and send them to Stripe's page to pay for it.

    - a confirmed seat already: back to the workshop page (``order`` is None);
    - a held seat with an open session (a double click, "Complete payment"): that session;
    - otherwise ``hold_seat`` (which also takes the buyer's own waitlist offer, or finds the
      seat a waitlist claim left held) and a new order whose session ends with the hold.

    The seat and the pending order are committed before Stripe is called; if Stripe fails,
    the order is deleted and the seat given back. Raises ``CheckoutError`` (fit to show) or
    ``stripe.StripeError``.
    """
    now = _now(now)
    if workshop.is_free:
        raise CheckoutError(_("This workshop is free: register from its page."))
    seat = Registration.objects.filter(
        learner=buyer, workshop=workshop, status__in=Registration.HOLDS_SEAT
    ).first()
    if seat is not None and seat.status == Registration.Status.CONFIRMED:
        return CheckoutStart(redirect_url=workshop.url, order=None)
    if seat is not None:
        # The session lives exactly as long as the hold: any time left is worth reusing.
        order = _pending_order(
            Order.objects.filter(buyer=buyer, workshop_registration=seat), live_after=now
        )
        if order is not None:
            return CheckoutStart(redirect_url=_session_url(order), order=order)
    # Before the seat is held: a creator who can't be paid now sells no seat.
    payee = _payee_of(workshop)
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
    order = _create_pending_order(
        buyer=buyer,
        item=workshop,
        payee=payee,
        item_fields={"workshop_registration": seat},
        expires_at=expires_at,
        code=code,
        now=now,
    )
    # A hold made by this click goes again if Stripe fails; an older one (a waitlist claim)
    # stays for the buyer's next try.
    new_hold = seat.created_at == now
    return CheckoutStart(redirect_url=_session_url(order, discard_new_hold=new_hold), order=order)


def _payee_of(item: CoursePage | WorkshopPage) -> connect.Payee:
    """Who is paid for ``item``: its creator's connected account, or the platform."""
    try:
        return connect.payee_for(page_owner(item))
    except connect.ConnectError as refusal:
        raise CheckoutError(str(refusal)) from refusal


def _pending_order(orders, *, live_after: datetime) -> Order | None:
    """The pending order among ``orders`` if its session is still open after ``live_after``.

    One that is about to run out is closed first (its session expired at Stripe, so it can't
    be paid as well as the new one): a new order may then take its place.
    """
    order = orders.filter(status=Order.Status.PENDING).first()
    if order is None:
        return None
    if order.checkout_expires_at is not None and order.checkout_expires_at > live_after:
        return order
    _retire_pending_order(order)
    return None


def _retire_pending_order(order: Order) -> None:
    session_id = order.stripe_checkout_session_id
    if session_id:
        session = gateway.retrieve_checkout_session(session_id)
        if session.status == "complete":
            raise CheckoutError(
                _("Your payment is being processed. Please check again in a few minutes.")
            )
        if session.status == "open":
            gateway.expire_checkout_session(session_id)
    _close(order_id=order.pk, status=Order.Status.EXPIRED)


def _create_pending_order(
    *,
    buyer: User,
    item: CoursePage | WorkshopPage,
    payee: connect.Payee,
    item_fields: dict[str, Any],
    expires_at: datetime,
    code: str = "",
    now: datetime | None = None,
) -> Order:
    """The buyer's pending order for one item at its current price, committed.

    A concurrent click that created it first wins the partial unique constraint; this one
    then returns that order.
    """
    try:
        with transaction.atomic():
            # A follower code takes one of its counted uses in this transaction
            # (discounts.py): if the order is not written, the use is not taken.
            offer = discounts.take_use(name=code, item=item, now=now) if code else None
            price = discounts.order_fields(offer, item=item)
            # The fee is a share of what the buyer pays, after any discount, at the creator's
            # own percentage if staff set one.
            parts = payee.split(price["amount"])
            return Order.objects.create(
                buyer=buyer,
                item_title=item.title,
                currency=item.currency,
                **price,
                platform_fee_amount=parts.fee,
                creator_share_amount=parts.creator_share,
                destination_account_id=payee.account_id,
                checkout_expires_at=expires_at,
                **item_fields,
            )
    except IntegrityError:
        existing = Order.objects.filter(
            buyer=buyer, status=Order.Status.PENDING, **item_fields
        ).first()
        if existing is None:
            raise
        return existing


def _session_url(order: Order, *, discard_new_hold: bool = False) -> str:
    """The order's Checkout Session URL, creating the session at Stripe if it has none yet.

    Called outside any transaction. Every caller sends the same parameters under the same
    idempotency key, so concurrent callers get one session. If Stripe fails before any session
    is recorded, the order is deleted (and, with ``discard_new_hold``, the seat this click
    held): nothing half-written stays.
    """
    if order.stripe_checkout_url:
        return order.stripe_checkout_url
    item = order.item_page
    assert item is not None and order.checkout_expires_at is not None  # noqa: S101
    kind = "A live workshop" if order.is_workshop_seat else "A course"
    try:
        session = gateway.create_checkout_session(
            order_id=str(order.pk),
            item_name=order.item_title,
            item_description=f"{kind} by {item.creator_page.title}",
            amount=order.amount,
            currency=order.currency,
            customer_email=order.buyer.email,
            success_url=absolute_url(reverse("payments:checkout_success", args=[order.pk]))
            + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=absolute_url(reverse("payments:checkout_cancel", args=[order.pk])),
            expires_at=order.checkout_expires_at,
            destination_account_id=order.destination_account_id,
            application_fee_amount=order.platform_fee_amount,
        )
    except stripe.StripeError:
        _discard_unsent_order(order, discard_new_hold=discard_new_hold)
        raise
    Order.objects.filter(pk=order.pk, stripe_checkout_session_id__isnull=True).update(
        stripe_checkout_session_id=session.id, stripe_checkout_url=session.url or ""
    )
    order.refresh_from_db(fields=["stripe_checkout_session_id", "stripe_checkout_url"])
    return order.stripe_checkout_url


def _discard_unsent_order(order: Order, *, discard_new_hold: bool) -> None:
    with transaction.atomic():
        deleted, _by_model = Order.objects.filter(
            pk=order.pk, status=Order.Status.PENDING, stripe_checkout_session_id__isnull=True
        ).delete()
        if deleted and discard_new_hold and order.workshop_registration_id is not None:
            workshop_services.discard_new_hold(registration_id=order.workshop_registration_id)


def _close(*, order_id: Any, status: Order.Status) -> bool:
    """Move a pending order to a final unpaid state (expired, cancelled, failed), once."""
    with transaction.atomic():
        order = _locked_order(order_id)
        if order is None or order.status != Order.Status.PENDING:
            return False
        order.status = status
        order.save(update_fields=["status", "updated_at"])
        _release_seat_of(order)
        discounts.give_back_use(order=order)
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
    """The buyer came back from Stripe's page with "cancel": close the order and the session.

    Returns False when there is a payment after all (the order is paid, or its session is
    complete and the webhook will say how it ended), True otherwise. Stripe is asked first
    (is it paid?), then the order is cancelled and committed, then the session expired: no
    lock is held while Stripe answers. A payment that slips in between still fulfils the
    cancelled order (``fulfil`` accepts it). Raises ``stripe.StripeError`` if Stripe can't be
    reached before anything changed; an expiry that fails afterwards is left to Stripe (the
    session ends by itself within 30 minutes).
    """
    current = Order.objects.filter(pk=order.pk).first()
    if current is None or current.status in (Order.Status.PAID, Order.Status.REFUNDED):
        return False
    if current.status != Order.Status.PENDING:
        return True  # already closed unpaid
    session_id = current.stripe_checkout_session_id
    session_open = False
    if session_id:
        session = gateway.retrieve_checkout_session(session_id)
        if session.status == "complete":
            return False
        session_open = session.status == "open"
    _close(order_id=current.pk, status=Order.Status.CANCELLED)
    if session_open and session_id:
        gateway.expire_checkout_session(session_id)
    return True


def expire_checkout_of_seat_soon(*, registration_id: int) -> None:
    """The learner gave back a held seat (workshops' signal, after its commit): on a worker,
    expire the Checkout Session still open for it."""
    enqueue("payments.tasks.expire_checkout_of_seat", registration_id)


def expire_checkout_of_seat(*, registration_id: int) -> Order | None:
    """Cancel the pending order of a seat given back, and expire its session at Stripe.

    Otherwise the session stays payable until it runs out, and paying it would charge the
    buyer only to be refunded (Stripe keeps its fee on a refunded charge). Returns the order
    (None if the seat has no pending order). If the session was paid meanwhile, the webhook
    fulfils it as a late payment (refunded, the buyer told). Raises ``stripe.StripeError``
    (the task retries).
    """
    order = Order.objects.filter(
        workshop_registration_id=registration_id, status=Order.Status.PENDING
    ).first()
    if order is None:
        return None
    cancel_checkout(order=order)
    return order


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
