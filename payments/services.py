"""Business rules of payments: start checkout, apply Stripe events, refund.

An order buys a course (``enroll`` on payment) or a workshop seat (a seat ``hold_seat`` holds
while the buyer pays, ``confirm_paid_seat`` on payment, ``release_hold`` when the checkout ends
unpaid). workshops never imports payments: it asks for refunds of cancelled paid seats through
its ``paid_registration_cancelled`` signal (receivers.py).

E-mails for a seat, one per thing said: workshops sends "you're registered" with the calendar
invite when the seat is confirmed, and payments sends the receipt (amount, order number, no
workshop details) for the payment. A payment that came too late for a seat gets neither: it is
refunded at once and workshops sends the one "sold out, payment refunded" e-mail.

Stripe's webhooks are the source of truth (DESIGN.md invariant 4). Every state change locks the
order row, re-checks its state and returns quietly when the change already happened, so events
may arrive in any order and any number of times.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from config.mail import absolute_url
from courses import services as course_services
from courses.models import CoursePage, Enrollment
from workshops import services as workshop_services
from workshops.models import Registration, WorkshopPage

from . import gateway, tasks
from .models import Order, StripeEvent

logger = logging.getLogger(__name__)


class CheckoutError(Exception):
    """Checkout cannot start; the message is fit to show the buyer."""


class RefundNotAllowed(Exception):
    """This user may not refund this order; the message says why."""


@dataclass(frozen=True)
class CheckoutStart:
    redirect_url: str
    order: Order | None  # None when the buyer was already enrolled


def _now(now: datetime | None) -> datetime:
    return now if now is not None else timezone.now()


def start_checkout(
    *, buyer: User, course: CoursePage, now: datetime | None = None
) -> CheckoutStart:
    """Where to send a buyer who clicked Buy: Stripe's page for an open order, or the course.

    Three steps, none holding a lock while Stripe answers (DESIGN.md invariant 11): find or
    commit the buyer's one pending order, ask Stripe for its session (idempotency key: the
    order), save the session on the order. A double click finds the same pending order (a
    partial unique constraint allows one per buyer and course) and Stripe answers its repeated
    request with the same session, so one purchase never makes two Checkout Sessions.
    """
    now = _now(now)
    if course.is_free:
        raise CheckoutError(_("This course is free: enrol from its page."))
    enrollment = Enrollment.objects.filter(learner=buyer, course=course).first()
    if enrollment is not None and enrollment.status == Enrollment.Status.REFUNDED:
        # courses.services.enroll() returns an existing enrolment as it is, so a second
        # payment would not give back access: refuse rather than take money for nothing.
        raise CheckoutError(
            _(
                "Your earlier purchase of this course was refunded. "
                "Please contact us to buy it again."
            )
        )
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
            item_fields={"course": course},
            expires_at=now + timedelta(minutes=gateway.CHECKOUT_LIFETIME_MINUTES),
        )
    return CheckoutStart(redirect_url=_session_url(order), order=order)


def start_workshop_checkout(
    *, buyer: User, workshop: WorkshopPage, now: datetime | None = None
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
        item_fields={"workshop_registration": seat},
        expires_at=expires_at,
    )
    # A hold made by this click goes again if Stripe fails; an older one (a waitlist claim)
    # stays for the buyer's next try.
    new_hold = seat.created_at == now
    return CheckoutStart(redirect_url=_session_url(order, discard_new_hold=new_hold), order=order)


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
    item_fields: dict[str, Any],
    expires_at: datetime,
) -> Order:
    """The buyer's pending order for one item at its current price, committed.

    A concurrent click that created it first wins the partial unique constraint; this one
    then returns that order.
    """
    try:
        with transaction.atomic():
            return Order.objects.create(
                buyer=buyer,
                item_title=item.title,
                amount=item.price_amount,
                currency=item.currency,
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


def _order_uuid(order_id: Any) -> uuid.UUID | None:
    """``order_id`` as a UUID, or None when it can't be one of ours (Stripe data is input)."""
    if isinstance(order_id, uuid.UUID):
        return order_id
    try:
        return uuid.UUID(str(order_id))
    except ValueError:
        return None


def _locked_order(order_id: Any) -> Order | None:
    pk = _order_uuid(order_id)
    if pk is None:
        return None
    # of=("self",): lock the order row only. Without it PostgreSQL would also lock the joined
    # buyer and course page rows, and refuses outright to lock the nullable side of the
    # LEFT JOIN to the course.
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("buyer", "course", "workshop_registration")
        .filter(pk=pk)
        .first()
    )


def fulfil(*, order_id: Any, payment_intent_id: str | None, now: datetime | None = None) -> bool:
    """Mark the order paid and deliver what it bought (enrolment or seat), once. Returns
    whether anything changed.

    Called by the webhook for a paid session and by the success page; whichever comes second
    finds the order paid and does nothing.
    """
    with transaction.atomic():
        order = _locked_order(order_id)
        if order is None or order.status in (Order.Status.PAID, Order.Status.REFUNDED):
            return False
        # A payment that lands after the session expired or was cancelled still bought the
        # item: the money was taken, so the buyer gets what they paid for (or it back).
        order.status = Order.Status.PAID
        order.paid_at = _now(now)
        order.stripe_payment_intent_id = payment_intent_id or order.stripe_payment_intent_id
        order.save(update_fields=["status", "paid_at", "stripe_payment_intent_id", "updated_at"])
        if order.workshop_registration_id is not None:
            _fulfil_seat(order, now=now)
            return True
        assert order.course is not None  # noqa: S101 - a CHECK constraint guarantees it
        enrollment = course_services.enroll(
            learner=order.buyer, course=order.course, order=order, now=now
        )
        if enrollment.order_id != order.pk or not enrollment.has_access:
            # The buyer owned the course already (another order paid first, such as a card
            # payment before a slow SEPA one), or their access was refunded: this payment
            # bought nothing, so it goes back at once, with one e-mail saying why.
            logger.info("Order %s paid for a course the buyer already had: refunding", order.pk)
            _refund_automatically(order, now=now)
            _after_commit(tasks.send_already_owned_refund, order.pk)
            return True
        _after_commit(tasks.send_payment_confirmation, order.pk)
    return True


def _fulfil_seat(order: Order, *, now: datetime | None) -> None:
    """The paid order's seat becomes confirmed; a payment too late for any seat is refunded.

    Runs in ``fulfil``'s transaction with the order locked; the refund itself is asked of
    Stripe after the commit (``_refund_automatically``).
    """
    registration_id = order.workshop_registration_id
    assert registration_id is not None  # noqa: S101 - the caller checked
    if workshop_services.confirm_paid_seat(registration_id=registration_id, now=now):
        # workshops e-mails "you're registered" with the invite; this is the receipt.
        _after_commit(tasks.send_payment_confirmation, order.pk)
        return
    logger.info("Order %s was paid after its seat was gone: refunding it", order.pk)
    # A released hold: workshops sends "sold out, payment refunded". Any other end (the learner
    # gave the held seat back, the workshop was cancelled) gets payments' refund e-mail now.
    told_by_workshops = (
        Registration.objects.filter(pk=registration_id).values_list("status", flat=True).get()
        == Registration.Status.RELEASED
    )
    workshop_services.mark_refunded(registration_id=registration_id, now=now)
    _refund_automatically(order, now=now)
    if not told_by_workshops:
        _after_commit(tasks.send_refund_confirmation, order.pk)


def _refund_automatically(order: Order, *, now: datetime | None) -> None:
    """Flag a paid order (locked by the caller) as refunded by us, and ask Stripe after commit.

    The flag tells ``revoke_refunded`` that the buyer was told already.
    """
    order.refunded_automatically = True
    order.save(update_fields=["refunded_automatically", "updated_at"])
    _after_commit(tasks.refund_automatically, order.pk)


def request_automatic_refund(*, order_id: Any, now: datetime | None = None) -> bool:
    """Ask Stripe for the refund ``_refund_automatically`` decided on, outside any transaction.

    Idempotent twice over: a refund already requested is not asked again, and the request's
    idempotency key is the order's, so even a repeat after a crash refunds once. Raises
    ``stripe.StripeError`` (the task retries). Returns whether Stripe was asked now.
    """
    order = Order.objects.filter(pk=order_id, refunded_automatically=True).first()
    if order is None or order.refund_requested_at is not None:
        return False
    if not order.stripe_payment_intent_id:
        logger.error("Order %s has no payment intent to refund; staff must refund it", order.pk)
        return False
    gateway.create_refund(order_id=str(order.pk), payment_intent_id=order.stripe_payment_intent_id)
    Order.objects.filter(pk=order.pk, refund_requested_at__isnull=True).update(
        refund_requested_at=_now(now)
    )
    return True


def _after_commit(task: Any, order_id: uuid.UUID) -> None:
    """Queue an e-mail task once the transaction commits.

    ``robust``: by then the change is committed, so a broker hiccup must not turn the webhook
    into a 500 (Stripe's retry would find the event applied and send nothing).
    """
    transaction.on_commit(lambda: task.delay(str(order_id)), robust=True)


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
    tasks.expire_checkout_of_seat.delay(registration_id)


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


def _record_payment_intent(*, order_id: uuid.UUID, payment_intent_id: str | None) -> None:
    if not payment_intent_id:
        return
    Order.objects.filter(pk=order_id, stripe_payment_intent_id__isnull=True).update(
        stripe_payment_intent_id=payment_intent_id
    )


def _order_id_of(stripe_object: dict) -> uuid.UUID | None:
    """The order a session (or a charge, through its intent's metadata) was made for."""
    metadata = stripe_object.get("metadata") or {}
    order_id = metadata.get("order_id") if isinstance(metadata, dict) else None
    return _order_uuid(order_id or stripe_object.get("client_reference_id"))


def _order_of_payment(payment: dict) -> Order | None:
    """The order a charge or dispute belongs to: by payment intent, else by metadata."""
    payment_intent_id = payment.get("payment_intent")
    if isinstance(payment_intent_id, str) and payment_intent_id:
        order = Order.objects.filter(stripe_payment_intent_id=payment_intent_id).first()
        if order is not None:
            return order
    order_id = _order_id_of(payment)
    return Order.objects.filter(pk=order_id).first() if order_id else None


def revoke_refunded(
    *, order_id: Any, charge: dict | None = None, now: datetime | None = None
) -> bool:
    """Stripe refunded the charge: the order is refunded and what it bought ends, once.

    A course enrolment is revoked; a seat is marked refunded (a confirmed one is freed and
    offered to the waitlist). The learner gets the refund e-mail, unless the refund was
    automatic and they were told when it was made.
    """
    with transaction.atomic():
        order = _locked_order(order_id)
        if order is None or order.status == Order.Status.REFUNDED:
            return False
        order.status = Order.Status.REFUNDED
        order.refunded_at = _now(now)
        if charge is not None:
            _record_payment_from_charge(order, charge)
        order.save(
            update_fields=[
                "status",
                "refunded_at",
                "paid_at",
                "stripe_payment_intent_id",
                "updated_at",
            ]
        )
        if order.workshop_registration_id is not None:
            workshop_services.mark_refunded(registration_id=order.workshop_registration_id, now=now)
        else:
            enrollment = Enrollment.objects.filter(order_id=order.pk).first()
            if enrollment is not None:
                course_services.revoke(enrollment=enrollment, now=now)
        if not order.refunded_automatically:
            _after_commit(tasks.send_refund_confirmation, order.pk)
    return True


def _record_payment_from_charge(order: Order, charge: dict) -> None:
    """A refund that arrives before the payment's own event still records the payment: when it
    was made and its intent, so that staff can reconcile the order with Stripe."""
    if order.paid_at is None:
        created = charge.get("created")
        order.paid_at = (
            datetime.fromtimestamp(created, tz=UTC)
            if isinstance(created, int)
            else order.refunded_at
        )
    payment_intent_id = charge.get("payment_intent")
    if not order.stripe_payment_intent_id and isinstance(payment_intent_id, str):
        order.stripe_payment_intent_id = payment_intent_id or None


def refund_cancelled_seat_soon(*, registration_id: int) -> None:
    """A paid seat was cancelled (workshops' signal, after its commit): refund it on a worker.

    On a worker because Stripe may be unreachable right now: the task retries, while the
    learner's cancellation (already committed) is not turned into an error page.
    """
    tasks.refund_cancelled_seat.delay(registration_id)


def refund_cancelled_seat(*, registration_id: int, now: datetime | None = None) -> Order | None:
    """Ask Stripe to refund the paid order of a cancelled seat, once; no staff needed.

    The learner cancelled before the cutoff, or the creator cancelled the workshop: workshops
    checked that. The seat ends as refunded when ``charge.refunded`` arrives. Returns the order
    (None if the seat has no paid order). Raises ``stripe.StripeError`` (the task retries).
    Holds no lock while Stripe answers: the refund's idempotency key (the order) makes a
    concurrent or repeated call refund once.
    """
    order = Order.objects.filter(
        workshop_registration_id=registration_id, status=Order.Status.PAID
    ).first()
    if order is None:
        logger.warning("Cancelled paid seat %s has no paid order to refund", registration_id)
        return None
    if order.refund_requested_at is not None:
        return order
    if not order.stripe_payment_intent_id:
        logger.error("Order %s has no payment intent to refund; staff must refund it", order.pk)
        return order
    gateway.create_refund(order_id=str(order.pk), payment_intent_id=order.stripe_payment_intent_id)
    Order.objects.filter(pk=order.pk, refund_requested_at__isnull=True).update(
        refund_requested_at=_now(now)
    )
    order.refresh_from_db()
    return order


def flag_dispute(*, order_id: Any, now: datetime | None = None) -> bool:
    """A buyer disputed the charge with their bank: flag the order and tell staff, once."""
    with transaction.atomic():
        order = _locked_order(order_id)
        if order is None or order.disputed_at is not None:
            return False
        order.disputed_at = _now(now)
        order.save(update_fields=["disputed_at", "updated_at"])
        _after_commit(tasks.send_dispute_alert, order.pk)
    return True


SESSION_EVENTS = (
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
)


def apply_event(event: dict) -> None:
    """Apply one verified Stripe event to our state. Unknown types are ignored."""
    kind = event["type"]
    obj = event["data"]["object"]
    if kind in SESSION_EVENTS:
        order_id = _order_id_of(obj)
        if order_id is None or not Order.objects.filter(pk=order_id).exists():
            logger.warning("Stripe event %s names no order of ours (%s)", event["id"], order_id)
            return
        if kind == "checkout.session.expired":
            _close(order_id=order_id, status=Order.Status.EXPIRED)
        elif kind == "checkout.session.async_payment_failed":
            _close(order_id=order_id, status=Order.Status.FAILED)
        elif obj.get("payment_status") == "paid":
            fulfil(order_id=order_id, payment_intent_id=obj.get("payment_intent"))
        else:
            # Completed with a delayed payment method: wait for async_payment_succeeded.
            _record_payment_intent(order_id=order_id, payment_intent_id=obj.get("payment_intent"))
    elif kind in ("charge.refunded", "charge.dispute.created"):
        order = _order_of_payment(obj)
        if order is None:
            logger.warning("Stripe event %s names no order of ours", event["id"])
            return
        if kind == "charge.refunded":
            if obj.get("refunded"):  # fully refunded; partial refunds keep access
                revoke_refunded(order_id=order.pk, charge=obj)
        else:
            flag_dispute(order_id=order.pk)


def handle_webhook_event(event: dict) -> bool:
    """Store a verified event once and apply it in the same transaction.

    Returns False for a redelivery of an event already applied. If applying fails, the
    transaction rolls back (nothing half-done), the error is recorded on the event, and the
    exception propagates so the view answers 500 and Stripe retries.
    """
    try:
        with transaction.atomic():
            # A concurrent delivery of the same new event waits on the primary key here until
            # the first one commits, then finds it processed.
            stored, _created = StripeEvent.objects.select_for_update().get_or_create(
                id=event["id"], defaults={"type": event["type"], "payload": event}
            )
            if stored.processed_at is not None:
                return False
            apply_event(event)
            stored.processed_at = timezone.now()
            stored.error = ""
            stored.save(update_fields=["processed_at", "error"])
            return True
    except Exception as problem:
        _record_failure(event, problem)
        raise


def _record_failure(event: dict, problem: Exception) -> None:
    """Keep the event with its error for staff (outside the rolled-back transaction)."""
    stored, created = StripeEvent.objects.get_or_create(
        id=event["id"],
        defaults={"type": event["type"], "payload": event, "error": repr(problem)},
    )
    # A concurrent delivery may have applied it meanwhile: never mark that one as failed.
    if not created and stored.processed_at is None:
        StripeEvent.objects.filter(pk=stored.pk, processed_at__isnull=True).update(
            error=repr(problem)
        )


def may_refund(*, user: User, order: Order, now: datetime | None = None) -> str | None:
    """None if ``user`` may refund ``order`` now, else the reason they may not."""
    if order.status != Order.Status.PAID:
        return _("Only paid orders can be refunded.")
    if user.is_active and user.is_staff:
        return None
    item = order.item_page
    creator_page = item.creator_page if item is not None else None
    if creator_page is None or getattr(creator_page, "creator_id", None) != user.pk:
        if order.is_workshop_seat:
            return _("Only staff or the workshop's creator can refund this order.")
        return _("Only staff or the course's creator can refund this order.")
    window_days = settings.CREATOR_REFUND_WINDOW_DAYS
    if order.paid_at is None or _now(now) > order.paid_at + timedelta(days=window_days):
        return _("Creators can refund within %(days)d days of payment.") % {"days": window_days}
    return None


def request_refund(*, user: User, order: Order, now: datetime | None = None) -> Order:
    """Ask Stripe to refund ``order``; access ends when ``charge.refunded`` arrives.

    Raises ``RefundNotAllowed`` (the message says why) or ``stripe.StripeError``.
    """
    reason = may_refund(user=user, order=order, now=now)
    if reason is not None:
        raise RefundNotAllowed(reason)
    if not order.stripe_payment_intent_id:
        raise RefundNotAllowed(_("This order has no payment to refund."))
    gateway.create_refund(order_id=str(order.pk), payment_intent_id=order.stripe_payment_intent_id)
    Order.objects.filter(pk=order.pk, refund_requested_at__isnull=True).update(
        refund_requested_at=_now(now)
    )
    order.refresh_from_db()
    return order
