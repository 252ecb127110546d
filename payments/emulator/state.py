"""Everything the emulator remembers, and every change it can make to it.

One :class:`EmulatorState` holds the Stripe objects (sessions, payment intents, charges, refunds,
disputes, events) in memory behind one re-entrant lock. Each public method takes the lock, makes
one whole change, records the events Stripe would send for it, and returns deep copies
("snapshots"), so a caller serialising a result never races a later change.

Events are handed to ``publish`` while the lock is held, so they reach the delivery queue in the
order they happened; ``publish`` must only queue, never send.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import objects
from .errors import StripeError, invalid, no_such
from .money import format_amount
from .objects import StripeObject, now

# Card dispute reasons Stripe reports (docs.stripe.com/api/disputes/object#dispute_object-reason).
DISPUTE_REASONS = frozenset(
    [
        "bank_cannot_process",
        "check_returned",
        "credit_not_processed",
        "customer_initiated",
        "debit_not_authorized",
        "duplicate",
        "fraudulent",
        "general",
        "incorrect_account_details",
        "insufficient_funds",
        "product_not_received",
        "product_unacceptable",
        "subscription_canceled",
        "unrecognized",
    ]
)

# What the hosted page's buttons do; see EmulatorState.pay.
PAY_OUTCOMES = ("paid", "declined", "delayed")


@dataclass(frozen=True)
class LineItem:
    name: str
    description: str | None
    unit_amount: int  # in the session currency's minor unit
    quantity: int

    @property
    def amount(self) -> int:
        return self.unit_amount * self.quantity


@dataclass(frozen=True)
class SessionSpec:
    """A validated create-session request."""

    line_items: list[LineItem]
    currency: str
    success_url: str
    cancel_url: str | None
    customer_email: str | None
    client_reference_id: str | None
    metadata: dict[str, str]
    expires_at: int
    payment_method_types: list[str]
    # payment_intent_data[...]: Stripe puts these, not the session's metadata, on the intent.
    intent_metadata: dict[str, str]
    intent_description: str | None


@dataclass(frozen=True)
class RequestInfo:
    """The API request behind a change, echoed in ``event.request`` as Stripe does."""

    id: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class StoredResponse:
    """A response kept for replay under its Idempotency-Key."""

    fingerprint: str
    request_id: str
    status: int
    body: dict[str, Any]


class EmulatorState:
    def __init__(self, *, api_version: str, publish: Callable[[StripeObject], None]) -> None:
        self.lock = threading.RLock()
        self.api_version = api_version
        self.base_url = ""  # set once the server has a port; hosted page links start with it
        self.webhook_endpoints = 0  # 1 while a webhook URL is set: event.pending_webhooks
        self._publish = publish
        # Every object by id, in creation order (ids carry their type's prefix, so never clash).
        self._objects: dict[str, StripeObject] = {}
        self._line_items: dict[str, list[LineItem]] = {}
        self._specs: dict[str, SessionSpec] = {}
        self._awaiting_settlement: set[str] = set()  # sessions paid with a delayed method
        self.idempotent_responses: dict[str, StoredResponse] = {}

    def reset(self) -> None:
        with self.lock:
            self._objects.clear()
            self._line_items.clear()
            self._specs.clear()
            self._awaiting_settlement.clear()
            self.idempotent_responses.clear()

    # -- reading ---------------------------------------------------------------------------

    def retrieve(self, object_id: str, kind: str, param: str = "id") -> StripeObject:
        """A snapshot of the ``kind`` object ``object_id``, or Stripe's 404."""
        with self.lock:
            return copy.deepcopy(self._get(object_id, kind, param))

    def get(self, object_id: str) -> StripeObject:
        """A snapshot of any object by id, whatever its kind."""
        with self.lock:
            found = self._objects.get(object_id)
            if found is None:
                raise no_such("object", object_id, "id")
            return copy.deepcopy(found)

    def objects_of(self, kind: str) -> list[StripeObject]:
        """Snapshots of every ``kind`` object, oldest first."""
        with self.lock:
            return [copy.deepcopy(o) for o in self._objects.values() if o["object"] == kind]

    def checkout_view(self, session_id: str) -> tuple[StripeObject, list[LineItem]] | None:
        """What the hosted page shows: the session and its line items, or None if unknown."""
        with self.lock:
            session = self._objects.get(session_id)
            if session is None or session["object"] != "checkout.session":
                return None
            return copy.deepcopy(session), list(self._line_items[session_id])

    def _get(self, object_id: str, kind: str, param: str) -> StripeObject:
        found = self._objects.get(object_id)
        if found is None or found["object"] != kind:
            raise no_such(kind, object_id, param)
        return found

    # -- Checkout Sessions -----------------------------------------------------------------

    def create_checkout_session(self, spec: SessionSpec) -> StripeObject:
        session = objects.checkout_session(
            amount_total=sum(item.amount for item in spec.line_items),
            currency=spec.currency,
            success_url=spec.success_url,
            cancel_url=spec.cancel_url,
            customer_email=spec.customer_email,
            client_reference_id=spec.client_reference_id,
            metadata=spec.metadata,
            expires_at=spec.expires_at,
            payment_method_types=spec.payment_method_types,
        )
        with self.lock:
            session["url"] = f"{self.base_url}/c/pay/{session['id']}"
            self._objects[session["id"]] = session
            self._line_items[session["id"]] = list(spec.line_items)
            self._specs[session["id"]] = spec
            return copy.deepcopy(session)

    def expire_session(self, session_id: str, request: RequestInfo | None = None) -> StripeObject:
        """The API's expire: only an open session can be expired."""
        with self.lock:
            session = self._get(session_id, "checkout.session", "session")
            if session["status"] != "open":
                raise StripeError(
                    'Only Checkout Sessions with a status in ["open"] can be expired. '
                    f"This Checkout Session has a status of `{session['status']}`."
                )
            self._expire(session, request)
            return copy.deepcopy(session)

    def expire_due_sessions(self) -> list[str]:
        """Expire every open session whose ``expires_at`` has passed (the sweeper's job)."""
        with self.lock:
            due = [
                session
                for session in self._objects.values()
                if session["object"] == "checkout.session"
                and session["status"] == "open"
                and session["expires_at"] <= now()
            ]
            for session in due:
                self._expire(session, None)
            return [session["id"] for session in due]

    def set_expires_at(self, session_id: str, expires_at: int) -> StripeObject:
        """Move an open session's expiry (a test control: Stripe allows no change)."""
        with self.lock:
            session = self._open_session(session_id)
            session["expires_at"] = expires_at
            return copy.deepcopy(session)

    def _expire(self, session: StripeObject, request: RequestInfo | None) -> None:
        # A finished session has no hosted page any more, so Stripe nulls its url.
        session.update(status="expired", url=None)
        self._emit("checkout.session.expired", session, request)

    def _open_session(self, session_id: str) -> StripeObject:
        session = self._get(session_id, "checkout.session", "session")
        if session["status"] != "open":
            raise StripeError(
                f"Checkout Session {session_id} is {session['status']}, not open.", status=409
            )
        return session

    # -- paying on the hosted page ---------------------------------------------------------

    def pay(
        self, session_id: str, outcome: str = "paid", *, email: str | None = None
    ) -> str | None:
        """Do what the hosted page's pay buttons do; return where the browser goes next.

        ``paid``: the card is charged and the session completes. ``declined``: nothing changes
        and the page says so (None is returned: the browser stays). ``delayed``: the session
        completes unpaid, as with a bank debit, until :meth:`settle` decides.
        """
        if outcome not in PAY_OUTCOMES:
            raise invalid(f"Unknown outcome {outcome!r}: use one of {PAY_OUTCOMES}.", "outcome")
        with self.lock:
            session = self._open_session(session_id)
            if outcome == "declined":
                return None
            payer_email = session["customer_email"] or email
            intent = self._new_intent(session, payer_email)
            session.update(
                status="complete",
                url=None,
                payment_intent=intent["id"],
                customer_details=objects.customer_details(payer_email),
            )
            if outcome == "paid":
                self._charge(intent, payer_email)
                session["payment_status"] = "paid"
            else:
                self._awaiting_settlement.add(session_id)
            self._emit("checkout.session.completed", session)
            success_url: str = session["success_url"]
            return success_url.replace("{CHECKOUT_SESSION_ID}", session_id)

    def cancel(self, session_id: str) -> str | None:
        """The hosted page's back link: the session stays open; return the cancel_url."""
        with self.lock:
            cancel_url: str | None = self._open_session(session_id)["cancel_url"]
            return cancel_url

    def settle(self, session_id: str, outcome: str = "succeeded") -> StripeObject:
        """Finish a delayed payment (``succeeded`` or ``failed``); return the event it sent."""
        if outcome not in ("succeeded", "failed"):
            raise invalid(f"Unknown outcome {outcome!r}: use succeeded or failed.", "outcome")
        with self.lock:
            session = self._get(session_id, "checkout.session", "session")
            if session_id not in self._awaiting_settlement:
                raise StripeError(
                    f"Checkout Session {session_id} has no delayed payment waiting to settle.",
                    status=409,
                )
            self._awaiting_settlement.discard(session_id)
            intent = self._objects[session["payment_intent"]]
            if outcome == "succeeded":
                self._charge(intent, session["customer_details"]["email"])
                session["payment_status"] = "paid"
            else:
                intent.update(
                    status="requires_payment_method",
                    last_payment_error={
                        "type": "invalid_request_error",
                        "code": "payment_intent_payment_attempt_failed",
                        "message": "The latest payment attempt of this PaymentIntent has failed.",
                    },
                )
            event = self._emit(f"checkout.session.async_payment_{outcome}", session)
            return copy.deepcopy(event)

    def _new_intent(self, session: StripeObject, email: str | None) -> StripeObject:
        spec = self._specs[session["id"]]
        intent = objects.payment_intent(
            amount=session["amount_total"],
            currency=session["currency"],
            metadata=dict(spec.intent_metadata),
            description=spec.intent_description,
            payment_method_types=session["payment_method_types"],
            receipt_email=email,
        )
        self._objects[intent["id"]] = intent
        return intent

    def _charge(self, intent: StripeObject, email: str | None) -> None:
        new_charge = objects.charge(intent, email=email)
        self._objects[new_charge["id"]] = new_charge
        intent.update(
            status="succeeded", amount_received=intent["amount"], latest_charge=new_charge["id"]
        )

    # -- refunds and disputes --------------------------------------------------------------

    def refund(
        self,
        *,
        payment_intent_id: str | None,
        charge_id: str | None,
        amount: int | None,
        metadata: dict[str, str],
        reason: str | None,
        request: RequestInfo | None = None,
    ) -> StripeObject:
        """Refund ``amount`` (default: all that is left) of a succeeded charge."""
        with self.lock:
            charge = self._refundable_charge(payment_intent_id, charge_id)
            remaining = charge["amount"] - charge["amount_refunded"]
            amount = remaining if amount is None else amount
            if amount > remaining:
                currency = charge["currency"]
                raise invalid(
                    f"Refund amount ({format_amount(amount, currency)}) is greater than unrefunded "
                    f"amount on charge ({format_amount(remaining, currency)})",
                    "amount",
                    code="amount_too_large",
                )
            new_refund = objects.refund(
                charge=charge, amount=amount, metadata=metadata, reason=reason
            )
            self._objects[new_refund["id"]] = new_refund
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] == charge["amount"]
            charge["refunds"]["data"].insert(0, copy.deepcopy(new_refund))
            self._emit("charge.refunded", charge, request)
            self._emit("refund.created", new_refund, request)
            return copy.deepcopy(new_refund)

    def _refundable_charge(
        self, payment_intent_id: str | None, charge_id: str | None
    ) -> StripeObject:
        if charge_id is not None:
            charge = self._get(charge_id, "charge", "charge")
            if payment_intent_id is not None and charge["payment_intent"] != payment_intent_id:
                raise invalid(
                    f"Charge {charge_id} does not belong to PaymentIntent {payment_intent_id}.",
                    "charge",
                )
        elif payment_intent_id is not None:
            intent = self._get(payment_intent_id, "payment_intent", "payment_intent")
            if intent["status"] != "succeeded":
                raise invalid(
                    f"This PaymentIntent ({payment_intent_id}) does not have a successful charge "
                    "to refund.",
                    "payment_intent",
                )
            charge = self._objects[intent["latest_charge"]]
        else:
            raise invalid(
                "One of the following params should be provided for this request: charge or "
                "payment_intent.",
                "payment_intent",
                code="parameter_missing",
            )
        if charge["disputed"]:
            raise StripeError(
                f"Charge {charge['id']} has been charged back; cannot issue a refund.",
                code="charge_disputed",
            )
        if charge["refunded"]:
            raise StripeError(
                f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
            )
        return charge

    def create_dispute(
        self, payment_id: str, *, reason: str = "fraudulent", amount: int | None = None
    ) -> StripeObject:
        """Open a dispute on a charge (``ch_...``) or a payment intent's charge (``pi_...``)."""
        if reason not in DISPUTE_REASONS:
            raise invalid(f"Invalid dispute reason: {reason}", "reason")
        with self.lock:
            if payment_id.startswith("pi_"):
                intent = self._get(payment_id, "payment_intent", "payment_intent")
                if intent["latest_charge"] is None:
                    raise invalid(f"PaymentIntent {payment_id} has no charge.", "payment_intent")
                payment_id = intent["latest_charge"]
            charge = self._get(payment_id, "charge", "charge")
            if charge["disputed"]:
                raise StripeError(f"Charge {payment_id} is already disputed.", status=409)
            new_dispute = objects.dispute(
                charge=charge, amount=charge["amount"] if amount is None else amount, reason=reason
            )
            self._objects[new_dispute["id"]] = new_dispute
            charge["disputed"] = True
            self._emit("charge.dispute.created", new_dispute)
            return copy.deepcopy(new_dispute)

    # -- events ----------------------------------------------------------------------------

    def mark_delivered(self, event_id: str) -> None:
        """A webhook endpoint accepted the event: no webhooks are pending for it any more."""
        with self.lock:
            event = self._objects.get(event_id)
            if event is not None:
                event["pending_webhooks"] = 0

    def _emit(
        self, event_type: str, data_object: StripeObject, request: RequestInfo | None = None
    ) -> StripeObject:
        request = request or RequestInfo()
        event = objects.event(
            event_type=event_type,
            data_object=data_object,
            api_version=self.api_version,
            pending_webhooks=self.webhook_endpoints,
            request_id=request.id,
            idempotency_key=request.idempotency_key,
        )
        self._objects[event["id"]] = event
        self._publish(event)
        return event
