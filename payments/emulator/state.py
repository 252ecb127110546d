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
from dataclasses import asdict, dataclass
from typing import Any

from . import objects
from .errors import StripeError, invalid, no_such
from .money import format_amount
from .objects import StripeObject, new_id, now

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

# What the hosted onboarding page's buttons do to a connected account; see
# EmulatorState.onboard. "pending" (submitted, under review) is a test control only.
ONBOARDING_OUTCOMES = ("complete", "incomplete", "restricted", "pending")

# How a closed dispute ended (docs.stripe.com/api/disputes/object#dispute_object-status).
DISPUTE_CLOSED_STATUSES = ("won", "lost", "warning_closed")

# Stripe's account links stop working a few minutes after they are made.
ACCOUNT_LINK_LIFETIME_SECONDS = 300

# Stripe's refusal of a destination that cannot be paid.
CANNOT_RECEIVE_TRANSFERS = (
    "Your destination account needs to have at least one of the following capabilities "
    "enabled: transfers, crypto_transfers, legacy_payments"
)


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
    # payment_intent_data[transfer_data][destination] and [application_fee_amount].
    destination: str | None = None
    application_fee_amount: int | None = None


@dataclass(frozen=True)
class AccountSpec:
    """A validated create-account request."""

    account_type: str
    controller: dict[str, Any]
    country: str
    email: str | None
    default_currency: str
    metadata: dict[str, str]
    business_type: str | None
    requested_capabilities: list[str]


@dataclass
class OnboardingGrant:
    """What an account link's URL stands for; the hosted onboarding page reads it."""

    account: str
    refresh_url: str
    return_url: str
    expires_at: int
    used: bool = False

    @property
    def usable(self) -> bool:
        # Stripe sends a visitor with a used or expired link to refresh_url for a new one.
        return not self.used and now() < self.expires_at


@dataclass(frozen=True)
class RequestInfo:
    """The API request behind a change, echoed in ``event.request`` as Stripe does."""

    id: str | None = None
    idempotency_key: str | None = None
    # The Stripe-Account header: the connected account the request acts for (None: platform).
    account: str | None = None


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
        # True: money received is available at once instead of pending (``make run``, where
        # nobody releases pending funds by hand).
        self.funds_available_at_once = False
        self.webhook_endpoints = 0  # 1 while a webhook URL is set: event.pending_webhooks
        self._publish = publish
        # Every object by id, in creation order (ids carry their type's prefix, so never clash).
        self._objects: dict[str, StripeObject] = {}
        self._line_items: dict[str, list[LineItem]] = {}
        self._specs: dict[str, SessionSpec] = {}
        self._awaiting_settlement: set[str] = set()  # sessions paid with a delayed method
        self.idempotent_responses: dict[str, StoredResponse] = {}
        # Objects that belong to a connected account (payouts), by id: only requests with
        # that account's Stripe-Account header see them. Everything else is the platform's.
        self._owners: dict[str, str] = {}
        # Balances: account id (None: the platform) -> "available"/"pending" -> currency -> amount.
        self._balances: dict[str | None, dict[str, dict[str, int]]] = {}
        self._onboarding: dict[str, OnboardingGrant] = {}  # account link token -> grant
        self._dashboards: dict[str, str] = {}  # login link token -> account id

    def reset(self) -> None:
        with self.lock:
            self._objects.clear()
            self._line_items.clear()
            self._specs.clear()
            self._awaiting_settlement.clear()
            self.idempotent_responses.clear()
            self._owners.clear()
            self._balances.clear()
            self._onboarding.clear()
            self._dashboards.clear()

    # -- reading ---------------------------------------------------------------------------

    def retrieve(
        self, object_id: str, kind: str, param: str = "id", *, account: str | None = None
    ) -> StripeObject:
        """A snapshot of the ``kind`` object ``object_id`` as ``account`` sees it, or a 404.

        ``account`` is the request's Stripe-Account (None: the platform): an account sees
        its own objects only, so one connected account never reads another's.
        """
        with self.lock:
            found = self._get(object_id, kind, param)
            if not self._visible_to(found, account):
                raise no_such(kind, object_id, param)
            return copy.deepcopy(found)

    def get(self, object_id: str) -> StripeObject:
        """A snapshot of any object by id, whatever its kind."""
        with self.lock:
            found = self._objects.get(object_id)
            if found is None:
                raise no_such("object", object_id, "id")
            return copy.deepcopy(found)

    def objects_of(self, kind: str, *, account: str | None = None) -> list[StripeObject]:
        """Snapshots of every ``kind`` object ``account`` may see (see ``retrieve``), oldest first.

        Events are the exception: the platform sees every event, Connect ones included.
        """
        with self.lock:
            return [
                copy.deepcopy(o)
                for o in self._objects.values()
                if o["object"] == kind and self._visible_to(o, account)
            ]

    def _visible_to(self, found: StripeObject, account: str | None) -> bool:
        if found["object"] == "event":
            return account is None or found.get("account") == account
        if found["object"] == "account":
            return account in (None, found["id"])
        return self._owners.get(found["id"]) == account

    def require_account(self, account_id: str) -> None:
        """Refuse a Stripe-Account header naming no connected account of this platform."""
        with self.lock:
            found = self._objects.get(account_id)
            if found is None or found["object"] != "account":
                raise StripeError(
                    "The provided key does not have access to account "
                    f"'{account_id}' (or that account does not exist). Application access may "
                    "have been revoked.",
                    status=403,
                    code="account_invalid",
                )

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
            destination = self._specs[session_id].destination
            if destination is not None:
                # The account may have lost its transfers capability since the session began.
                self._require_transfers(
                    destination, "payment_intent_data[transfer_data][destination]"
                )
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
            destination=spec.destination,
            application_fee_amount=spec.application_fee_amount,
        )
        self._objects[intent["id"]] = intent
        return intent

    def _charge(self, intent: StripeObject, email: str | None) -> None:
        new_charge = objects.charge(intent, email=email)
        self._objects[new_charge["id"]] = new_charge
        intent.update(
            status="succeeded", amount_received=intent["amount"], latest_charge=new_charge["id"]
        )
        movements: dict[str | None, int] = {None: new_charge["amount"]}
        if intent["transfer_data"] is not None:
            destination = intent["transfer_data"]["destination"]
            self._pay_destination(new_charge, destination, movements)
        self._move(new_charge["currency"], movements)

    def _pay_destination(
        self, charge: StripeObject, destination: str, movements: dict[str | None, int]
    ) -> None:
        """A destination charge's money movements, as Stripe makes them.

        The whole amount is transferred to the connected account (``tr_``), which then pays
        the platform its application fee (``fee_``): the account keeps amount - fee, the
        platform the fee. The emulator takes no processing fee of its own.
        """
        new_transfer = objects.transfer(charge=charge, destination=destination)
        self._objects[new_transfer["id"]] = new_transfer
        charge["transfer"] = new_transfer["id"]
        _add(movements, None, -new_transfer["amount"])
        _add(movements, destination, new_transfer["amount"])
        self._emit("transfer.created", new_transfer)
        fee_amount = charge["application_fee_amount"]
        if fee_amount:
            fee = objects.application_fee(charge=charge, account=destination, amount=fee_amount)
            self._objects[fee["id"]] = fee
            charge["application_fee"] = fee["id"]
            _add(movements, destination, -fee_amount)
            _add(movements, None, fee_amount)
            self._emit("application_fee.created", fee)

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
        reverse_transfer: bool = False,
        refund_application_fee: bool = False,
    ) -> StripeObject:
        """Refund ``amount`` (default: all that is left) of a succeeded charge.

        On a destination charge, ``reverse_transfer`` takes the refunded part of the transfer
        back from the connected account and ``refund_application_fee`` gives back the same
        share of the platform's fee (see :meth:`_give_back_shares`).
        """
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
            if (reverse_transfer or refund_application_fee) and charge.get("transfer") is None:
                flag = "reverse_transfer" if reverse_transfer else "refund_application_fee"
                raise invalid(
                    f"You cannot use `{flag}` on a charge that has no destination "
                    f"({charge['id']} was not made with `transfer_data[destination]`).",
                    flag,
                )
            new_refund = objects.refund(
                charge=charge, amount=amount, metadata=metadata, reason=reason
            )
            self._objects[new_refund["id"]] = new_refund
            refunded_before = charge["amount_refunded"]
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] == charge["amount"]
            movements: dict[str | None, int] = {None: -amount}
            self._give_back_shares(
                charge,
                new_refund,
                movements,
                refunded_before=refunded_before,
                reverse_transfer=reverse_transfer,
                refund_application_fee=refund_application_fee,
                request=request,
            )
            self._move(charge["currency"], movements)
            charge["refunds"]["data"].insert(0, copy.deepcopy(new_refund))
            self._emit("charge.refunded", charge, request)
            self._emit("refund.created", new_refund, request)
            return copy.deepcopy(new_refund)

    def _give_back_shares(
        self,
        charge: StripeObject,
        refund: StripeObject,
        movements: dict[str | None, int],
        *,
        refunded_before: int,
        reverse_transfer: bool,
        refund_application_fee: bool,
        request: RequestInfo | None,
    ) -> None:
        """Reverse the transfer and refund the application fee in proportion to a refund.

        The rounding rule: after each refund, the fee refunded so far is the fee times the
        share of the charge refunded so far, rounded half up to a whole minor unit; this
        refund's fee refund is the difference from before. So the fee refunds of a charge
        refunded in full add up to its fee exactly, and none is negative. The transfer is the
        whole charge amount, so its reversal is exactly the refund amount.
        """
        if reverse_transfer:
            transfer = self._objects[charge["transfer"]]
            reversal = objects.transfer_reversal(
                transfer=transfer, amount=refund["amount"], refund_id=refund["id"]
            )
            self._objects[reversal["id"]] = reversal
            transfer["amount_reversed"] += reversal["amount"]
            transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
            transfer["reversals"]["data"].insert(0, copy.deepcopy(reversal))
            refund["transfer_reversal"] = reversal["id"]
            _add(movements, transfer["destination"], -reversal["amount"])
            _add(movements, None, reversal["amount"])
            self._emit("transfer.reversed", transfer, request)
        fee_id = charge.get("application_fee")
        if refund_application_fee and fee_id is not None:
            fee = self._objects[fee_id]
            share = _proportional(
                fee["amount"], charge["amount_refunded"], charge["amount"]
            ) - _proportional(fee["amount"], refunded_before, charge["amount"])
            # Never more than is left (earlier refunds may have kept their fee share).
            share = min(share, fee["amount"] - fee["amount_refunded"])
            if share > 0:
                fee_refund = objects.fee_refund(fee=fee, amount=share)
                self._objects[fee_refund["id"]] = fee_refund
                fee["amount_refunded"] += fee_refund["amount"]
                fee["refunded"] = fee["amount_refunded"] == fee["amount"]
                fee["refunds"]["data"].insert(0, copy.deepcopy(fee_refund))
                _add(movements, None, -fee_refund["amount"])
                _add(movements, fee["account"], fee_refund["amount"])
                self._emit("application_fee.refunded", fee, request)

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

    def close_dispute(self, dispute_id: str, status: str = "lost") -> StripeObject:
        """Close a dispute as ``won``, ``lost`` or ``warning_closed``: charge.dispute.closed."""
        if status not in DISPUTE_CLOSED_STATUSES:
            raise invalid(
                f"Unknown status {status!r}: use one of {DISPUTE_CLOSED_STATUSES}.", "status"
            )
        with self.lock:
            found = self._get(dispute_id, "dispute", "dispute")
            if found["status"] in DISPUTE_CLOSED_STATUSES:
                raise StripeError(f"Dispute {dispute_id} is already closed.", status=409)
            found["status"] = status
            found["is_charge_refundable"] = False
            self._emit("charge.dispute.closed", found)
            return copy.deepcopy(found)

    # -- Connect: accounts, onboarding, login links ------------------------------------------

    def create_account(self, spec: AccountSpec) -> StripeObject:
        # The spec's fields are the builder's parameters, one for one.
        new_account = objects.account(**asdict(spec))
        with self.lock:
            self._objects[new_account["id"]] = new_account
            return copy.deepcopy(new_account)

    def update_account(
        self, account_id: str, changes: dict[str, Any], request: RequestInfo
    ) -> StripeObject:
        """Apply top-level ``changes`` (metadata merges, as on Stripe); sends account.updated."""
        with self.lock:
            found = self._get(account_id, "account", "account")
            changes = dict(changes)
            if "metadata" in changes:
                changes["metadata"] = {**found["metadata"], **changes["metadata"]}
            self._change_account(found, changes, request)
            return copy.deepcopy(found)

    def create_account_link(
        self, account_id: str, *, refresh_url: str, return_url: str
    ) -> StripeObject:
        """A single-use URL to the hosted onboarding page for ``account_id``."""
        with self.lock:
            self._get(account_id, "account", "account")
            token = new_id("onb", 24)
            expires_at = now() + ACCOUNT_LINK_LIFETIME_SECONDS
            self._onboarding[token] = OnboardingGrant(
                account=account_id,
                refresh_url=refresh_url,
                return_url=return_url,
                expires_at=expires_at,
            )
            return objects.account_link(
                url=f"{self.base_url}/connect/onboarding/{token}", expires_at=expires_at
            )

    def onboarding_view(self, token: str) -> tuple[OnboardingGrant, StripeObject] | None:
        """What the onboarding page shows: its grant and the account; None for a bad token."""
        with self.lock:
            grant = self._onboarding.get(token)
            if grant is None:
                return None
            return copy.copy(grant), copy.deepcopy(self._objects[grant.account])

    def onboard(self, token: str, outcome: str) -> str:
        """Press an onboarding page button; return where the browser goes next.

        A used or expired link changes nothing and sends the browser to its refresh_url,
        where the platform makes a new link, as on Stripe.
        """
        if outcome not in ONBOARDING_OUTCOMES[:3]:
            raise invalid(
                f"Unknown outcome {outcome!r}: use one of {ONBOARDING_OUTCOMES[:3]}.", "outcome"
            )
        with self.lock:
            grant = self._onboarding.get(token)
            if grant is None:
                raise no_such("account link", token, "url")
            if not grant.usable:
                return grant.refresh_url
            grant.used = True
            account = self._objects[grant.account]
            self._change_account(account, _onboarded(outcome, account), None)
            return grant.return_url

    def expire_account_link(self, url_or_token: str) -> None:
        """Make an account link unusable now (a test control: Stripe's expire after minutes)."""
        token = url_or_token.rstrip("/").rsplit("/", 1)[-1]
        with self.lock:
            grant = self._onboarding.get(token)
            if grant is None:
                raise no_such("account link", token, "url")
            grant.expires_at = now()

    def set_account_state(self, account_id: str, outcome: str) -> StripeObject:
        """Put an account in an onboarding outcome directly (a test control; account.updated)."""
        if outcome not in ONBOARDING_OUTCOMES:
            raise invalid(
                f"Unknown outcome {outcome!r}: use one of {ONBOARDING_OUTCOMES}.", "outcome"
            )
        with self.lock:
            found = self._get(account_id, "account", "account")
            self._change_account(found, _onboarded(outcome, found), None)
            return copy.deepcopy(found)

    def create_login_link(self, account_id: str) -> StripeObject:
        """A link to the connected account's (emulated) Express dashboard."""
        with self.lock:
            found = self._get(account_id, "account", "account")
            if (
                found["type"] != "express"
                and found["controller"].get("stripe_dashboard", {}).get("type") != "express"
            ):
                raise invalid("Login links can only be created for Express accounts.", "account")
            if not found["details_submitted"]:
                raise invalid(
                    f"Cannot create a login link for an account ({account_id}) that has not "
                    "completed onboarding.",
                    "account",
                )
            token = new_id("dash", 24)
            self._dashboards[token] = account_id
            return objects.login_link(url=f"{self.base_url}/connect/express/{token}")

    def dashboard_view(
        self, token: str
    ) -> tuple[StripeObject, StripeObject, list[StripeObject]] | None:
        """The Express dashboard page's account, balance and payouts; None for a bad token."""
        with self.lock:
            account_id = self._dashboards.get(token)
            if account_id is None:
                return None
            return (
                copy.deepcopy(self._objects[account_id]),
                self.balance(account_id),
                self.objects_of("payout", account=account_id),
            )

    def _change_account(
        self, found: StripeObject, changes: dict[str, Any], request: RequestInfo | None
    ) -> None:
        previous = {
            name: copy.deepcopy(found[name]) for name in changes if found.get(name) != changes[name]
        }
        found.update(copy.deepcopy(changes))
        if previous:
            self._emit(
                "account.updated",
                found,
                request,
                account=found["id"],
                previous_attributes=previous,
            )

    def _require_transfers(self, account_id: str, param: str) -> None:
        """Stripe's refusal of a destination that doesn't exist or can't receive transfers."""
        found = self._objects.get(account_id)
        if found is None or found["object"] != "account":
            raise invalid(f"No such destination: '{account_id}'", param, code="resource_missing")
        if found["capabilities"].get("transfers") != "active":
            raise invalid(
                CANNOT_RECEIVE_TRANSFERS, param, code="insufficient_capabilities_for_transfer"
            )

    def check_destination(self, account_id: str, param: str) -> None:
        with self.lock:
            self._require_transfers(account_id, param)

    # -- balances and payouts ----------------------------------------------------------------

    def balance(self, account_id: str | None) -> StripeObject:
        """The balance of a connected account, or of the platform (None)."""
        with self.lock:
            buckets = self._balances.get(account_id, {})
            default = (
                self._objects[account_id]["default_currency"] if account_id is not None else "usd"
            )
            return objects.balance(
                available=dict(buckets.get("available", {})),
                pending=dict(buckets.get("pending", {})),
                default_currency=default,
            )

    def release_pending(self, account_id: str | None) -> StripeObject:
        """Make an account's (or the platform's) pending funds available now; the new balance.

        Stripe does this days after a payment; the emulator only when asked.
        """
        with self.lock:
            buckets = self._balances.setdefault(account_id, {"available": {}, "pending": {}})
            for currency, amount in buckets["pending"].items():
                available = buckets["available"]
                available[currency] = available.get(currency, 0) + amount
            buckets["pending"] = {}
            return self.balance(account_id)

    def create_payout(
        self,
        account_id: str | None,
        *,
        amount: int,
        currency: str,
        description: str | None,
        metadata: dict[str, str],
        request: RequestInfo | None = None,
    ) -> StripeObject:
        """A payout of available funds to the account's bank: pending, payout.created."""
        with self.lock:
            available = self._balances.get(account_id, {}).get("available", {}).get(currency, 0)
            if amount > available:
                raise StripeError(
                    "You have insufficient funds in your Stripe account for this transfer. "
                    f"Your available balance is {format_amount(available, currency)}.",
                    code="balance_insufficient",
                    param="amount",
                )
            new_payout = objects.payout(
                amount=amount, currency=currency, description=description, metadata=metadata
            )
            self._objects[new_payout["id"]] = new_payout
            if account_id is not None:
                self._owners[new_payout["id"]] = account_id
            self._balances[account_id]["available"][currency] = available - amount
            self._emit("payout.created", new_payout, request, account=account_id)
            return copy.deepcopy(new_payout)

    def mark_payout_paid(self, payout_id: str) -> StripeObject:
        """The bank received a pending payout: status paid, payout.paid."""
        with self.lock:
            found = self._get(payout_id, "payout", "payout")
            if found["status"] == "paid":
                raise StripeError(f"Payout {payout_id} is already paid.", status=409)
            found["status"] = "paid"
            found["arrival_date"] = now()
            self._emit("payout.paid", found, account=self._owners.get(payout_id))
            return copy.deepcopy(found)

    def pay_out(self, account_id: str | None) -> list[StripeObject]:
        """Pay out all available funds, one payout per currency, paid at once."""
        with self.lock:
            available = self._balances.get(account_id, {}).get("available", {})
            payouts = [
                self.create_payout(
                    account_id,
                    amount=amount,
                    currency=currency,
                    description="STRIPE PAYOUT",
                    metadata={},
                )
                for currency, amount in sorted(available.items())
                if amount > 0
            ]
            return [self.mark_payout_paid(payout["id"]) for payout in payouts]

    def _move(self, currency: str, movements: dict[str | None, int]) -> None:
        """Apply one operation's net change to each balance it touches (None: the platform).

        Money received lands in pending (Stripe makes it available days later), or in
        available with ``funds_available_at_once``. Money given back comes out of pending
        funds first, then out of available ones, which may go negative, as a Stripe balance
        can.
        """
        for account_id, change in movements.items():
            buckets = self._balances.setdefault(account_id, {"available": {}, "pending": {}})
            if self.funds_available_at_once:
                available = buckets["available"].get(currency, 0)
                buckets["available"][currency] = available + change
                continue
            pending = buckets["pending"].get(currency, 0)
            from_pending = max(change, -max(pending, 0))
            buckets["pending"][currency] = pending + from_pending
            available = buckets["available"].get(currency, 0)
            buckets["available"][currency] = available + (change - from_pending)

    # -- events ----------------------------------------------------------------------------

    def mark_delivered(self, event_id: str) -> None:
        """A webhook endpoint accepted the event: no webhooks are pending for it any more."""
        with self.lock:
            event = self._objects.get(event_id)
            if event is not None:
                event["pending_webhooks"] = 0

    def _emit(
        self,
        event_type: str,
        data_object: StripeObject,
        request: RequestInfo | None = None,
        *,
        account: str | None = None,
        previous_attributes: StripeObject | None = None,
    ) -> StripeObject:
        """Record and publish an event; ``account`` marks a Connect event about that account."""
        request = request or RequestInfo()
        event = objects.event(
            event_type=event_type,
            data_object=data_object,
            api_version=self.api_version,
            pending_webhooks=self.webhook_endpoints,
            request_id=request.id,
            idempotency_key=request.idempotency_key,
            account=account,
            previous_attributes=previous_attributes,
        )
        self._objects[event["id"]] = event
        self._publish(event)
        return event


def _add(movements: dict[str | None, int], account_id: str | None, change: int) -> None:
    movements[account_id] = movements.get(account_id, 0) + change


def _proportional(part_of: int, numerator: int, denominator: int) -> int:
    """``part_of * numerator / denominator`` rounded half up, in integers only."""
    return (2 * part_of * numerator + denominator) // (2 * denominator)


def _onboarded(outcome: str, account: StripeObject) -> dict[str, Any]:
    """The fields of ``account`` an onboarding outcome sets (see ONBOARDING_OUTCOMES)."""
    enabled = outcome == "complete"
    due: list[str] = {
        "complete": [],
        # Left part-way: the profile is in, the bank account and the terms are not.
        "incomplete": ["external_account", "tos_acceptance.date", "tos_acceptance.ip"],
        # Submitted, but Stripe wants an identity document before it pays anything out.
        "restricted": ["individual.verification.document"],
        "pending": [],
    }[outcome]
    disabled_reason = {
        "complete": None,
        "incomplete": "requirements.past_due",
        "restricted": "requirements.past_due",
        "pending": "requirements.pending_verification",
    }[outcome]
    capability = {"complete": "active", "pending": "pending"}.get(outcome, "inactive")
    return {
        "details_submitted": outcome != "incomplete",
        "charges_enabled": enabled,
        "payouts_enabled": enabled,
        # Only the capabilities the platform requested for the account.
        "capabilities": dict.fromkeys(account["capabilities"], capability),
        "requirements": {
            **objects.example("account")["requirements"],
            "currently_due": due,
            "eventually_due": due,
            "past_due": due,
            "pending_verification": (
                ["individual.verification.document"] if outcome == "pending" else []
            ),
            "disabled_reason": disabled_reason,
        },
    }
