"""Stripe Connect: a creator's Express account, its state, and who is paid for a sale.

The rules (docs/architecture.md, "Money"):

- A creator connects from the studio's "Get paid" page: an Express account with the
  ``card_payments`` and ``transfers`` capabilities is made once (idempotency key: the
  creator), then Stripe's hosted onboarding is opened through a fresh Account Link.
- The account's state is Stripe's. ``account.updated`` events copy it from the event's
  ``data.object``; the "Get paid" page copies it from the account it reads. Each copy carries
  the moment it was true (``state_as_of``): an older one that arrives late changes nothing.
  Stripe's event times are whole seconds, so two events of the same second can't be told
  apart: each event therefore also queues a read of the account itself after commit
  (``refresh_account_soon``), whose answer is Stripe's latest state. Events apply in any
  order and any number of times, and the record ends as Stripe's account is.
- A creator's paid course or workshop is published only once their account can receive
  transfers (its ``transfers`` capability is active); free ones always. Pages outside every
  storefront are the platform's and are exempt.
- A sale of a creator's item is a destination charge to their account, the platform keeping
  its fee (``application_fee_amount``). A creator without any connected account (content
  published before Connect) is charged on the platform's own account, the creator's share
  recorded as owed; one whose account exists but can't receive transfers can't sell until it
  can (Stripe would refuse the charge).
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from config.queueing import enqueue_on_commit

from .. import fees, gateway
from ..models import ConnectedAccount
from .common import _now

# Messages shown to creators, staff and buyers.
NOT_ABLE_TO_RECEIVE = gettext_lazy(
    "You can publish a paid course or workshop once your Stripe account can receive payouts. "
    "Finish setting it up on the studio's “Get paid” page, or make it free."
)
NOT_CONNECTED = gettext_lazy(
    "You can publish a paid course or workshop once you have connected a Stripe account to "
    "receive your earnings: open the studio's “Get paid” page, or make it free."
)
CREATOR_CANNOT_SELL = gettext_lazy(
    "This creator can't take payments at the moment. Please try again later."
)
ONLY_STAFF_SET_FEES = gettext_lazy("Only staff can change a creator's platform fee.")
BAD_PERCENT = gettext_lazy(
    "Enter a percentage between 0 and 100, or leave it empty for the default."
)


class ConnectError(Exception):
    """A Connect action was refused; the message says why and is fit to show."""


@dataclass(frozen=True)
class Payee:
    """Who is paid for a sale: the creator's connected account (a destination charge) or, when
    ``account_id`` is empty, the platform's own account. ``fee_percent`` is the platform's."""

    account_id: str
    fee_percent: Decimal

    def split(self, amount: int) -> fees.Split:
        return fees.split(amount, self.fee_percent)


def account_of(creator: User | None) -> ConnectedAccount | None:
    if creator is None:
        return None
    return ConnectedAccount.objects.filter(creator=creator).first()


def payee_for(creator: User | None) -> Payee:
    """The payee of a sale of ``creator``'s item (None: the platform's own content).

    Raises ``ConnectError`` when the creator's account can't receive transfers now.
    """
    account = account_of(creator)
    if account is None:
        return Payee(account_id="", fee_percent=fees.platform_fee_percent())
    if not account.can_receive_transfers:
        raise ConnectError(str(CREATOR_CANNOT_SELL))
    return Payee(
        account_id=account.stripe_account_id,
        fee_percent=fees.platform_fee_percent(account.fee_percent_override),
    )


def publish_refusal(*, owner: User | None) -> str | None:
    """Why ``owner`` may not publish a paid item now, or None. Staff's pages (no owner) are
    the platform's: always allowed."""
    if owner is None:
        return None
    account = account_of(owner)
    if account is None:
        return str(NOT_CONNECTED)
    if not account.can_receive_transfers:
        return str(NOT_ABLE_TO_RECEIVE)
    return None


def onboarding_url(*, creator: User, refresh_url: str, return_url: str) -> str:
    """Where to send ``creator`` to set up (or finish setting up) their Express account.

    The account is made at Stripe the first time (outside any transaction; its idempotency
    key makes a double click one account), then recorded; every call makes a new single-use
    Account Link. Raises ``stripe.StripeError``.
    """
    account = account_of(creator)
    if account is None:
        stripe_account = gateway.create_connected_account(
            creator_id=creator.pk, email=creator.email
        )
        account = _record_new_account(creator=creator, stripe_account=stripe_account.to_dict())
    return gateway.create_onboarding_link(
        account_id=account.stripe_account_id, refresh_url=refresh_url, return_url=return_url
    )


def _record_new_account(*, creator: User, stripe_account: dict[str, Any]) -> ConnectedAccount:
    try:
        with transaction.atomic():
            account, _created = ConnectedAccount.objects.get_or_create(
                creator=creator, defaults={"stripe_account_id": stripe_account["id"]}
            )
    except IntegrityError:
        # A concurrent click recorded the same account first.
        account = ConnectedAccount.objects.get(creator=creator)
    record_account(stripe_account, as_of=_now(None))
    account.refresh_from_db()
    return account


def dashboard_url(*, creator: User) -> str:
    """A sign-in link to the creator's Express dashboard (payouts, bank, tax details)."""
    account = account_of(creator)
    if account is None or not account.details_submitted:
        raise ConnectError(_("Finish setting up your Stripe account first."))
    return gateway.create_dashboard_link(account.stripe_account_id)


def refresh_account(*, creator: User, now: datetime | None = None) -> ConnectedAccount | None:
    """Read the creator's account from Stripe (outside any transaction) and record it: the
    "Get paid" page shows the state of this moment even if an event is late."""
    return _refresh(account_of(creator), now=now)


def refresh_account_by_id(*, stripe_account_id: str) -> ConnectedAccount | None:
    """The task's entry: read one account from Stripe and record it (Stripe's latest)."""
    return _refresh(
        ConnectedAccount.objects.filter(stripe_account_id=stripe_account_id).first(), now=None
    )


def _refresh(account: ConnectedAccount | None, *, now: datetime | None) -> ConnectedAccount | None:
    if account is None:
        return None
    asked_at = _now(now)
    stripe_account = gateway.retrieve_connected_account(account.stripe_account_id)
    record_account(stripe_account.to_dict(), as_of=asked_at)
    account.refresh_from_db()
    return account


def record_account(stripe_account: dict[str, Any], *, as_of: datetime) -> bool:
    """Copy Stripe's state of one account onto its record, unless a newer state is there.

    Returns whether the record changed. An account of no creator of ours is ignored.
    """
    account_id = stripe_account.get("id")
    if not isinstance(account_id, str):
        return False
    fields = _state_fields(stripe_account)
    with transaction.atomic():
        account = (
            ConnectedAccount.objects.select_for_update()
            .filter(stripe_account_id=account_id)
            .first()
        )
        if account is None:
            return False
        if account.state_as_of is not None and account.state_as_of > as_of:
            return False  # a newer state was recorded already
        for name, value in fields.items():
            setattr(account, name, value)
        account.state_as_of = as_of
        account.save()
    return True


def record_account_event(event: dict[str, Any]) -> bool:
    """``account.updated``: the event's account object, as of the event's creation; then,
    after commit, Stripe's latest state (see the module's docstring)."""
    created = event.get("created")
    as_of = datetime.fromtimestamp(created, tz=UTC) if isinstance(created, int) else _now(None)
    stripe_account = event["data"]["object"]
    account_id = stripe_account.get("id")
    if not ConnectedAccount.objects.filter(stripe_account_id=account_id).exists():
        return False
    changed = record_account(stripe_account, as_of=as_of)
    enqueue_on_commit("payments.tasks.refresh_connected_account", account_id)
    return changed


def _state_fields(stripe_account: dict[str, Any]) -> dict[str, Any]:
    capabilities = stripe_account.get("capabilities") or {}
    requirements = stripe_account.get("requirements") or {}
    due = [
        *(requirements.get("past_due") or []),
        *(requirements.get("currently_due") or []),
    ]
    return {
        "charges_enabled": bool(stripe_account.get("charges_enabled")),
        "payouts_enabled": bool(stripe_account.get("payouts_enabled")),
        "details_submitted": bool(stripe_account.get("details_submitted")),
        "transfers_active": isinstance(capabilities, dict)
        and capabilities.get("transfers") == "active",
        "requirements_due": sorted({str(item) for item in due}),
        "disabled_reason": str(requirements.get("disabled_reason") or "")[:255],
    }


def set_fee_percent(*, staff_user: User, creator: User, percent: str) -> ConnectedAccount:
    """Staff set (or, with an empty ``percent``, clear) a creator's own platform fee. It
    applies to checkouts started afterwards; open and paid orders keep theirs."""
    if not (staff_user.is_active and staff_user.is_staff):
        raise ConnectError(str(ONLY_STAFF_SET_FEES))
    account = account_of(creator)
    if account is None:
        raise ConnectError(_("This creator has not connected a Stripe account yet."))
    value: Decimal | None = None
    if percent.strip():
        try:
            value = Decimal(percent.strip())
        except InvalidOperation as not_a_number:
            raise ConnectError(str(BAD_PERCENT)) from not_a_number
        if not value.is_finite() or not Decimal(0) <= value <= Decimal(100):
            raise ConnectError(str(BAD_PERCENT))
        if value != value.quantize(Decimal("0.01")):
            raise ConnectError(str(BAD_PERCENT))
    ConnectedAccount.objects.filter(pk=account.pk).update(fee_percent_override=value)
    account.refresh_from_db()
    return account
