"""Reads of the payments app: which orders a staff member or a creator may see."""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import stripe
from django.db.models import Count, Q, QuerySet, Sum
from django.utils.translation import gettext
from wagtail.models import Page

from config.money import format_money
from courses.models import CoursePage
from workshops.models import WorkshopPage

from . import gateway
from .models import ConnectedAccount, DiscountCode, Order

logger = logging.getLogger(__name__)


def creator_storefront_path(user) -> str | None:
    """The page-tree path of the storefront ``user`` owns, if they are a creator.

    Read through ``home.CreatorPage.creator``'s reverse accessor rather than an import: no app
    imports ``home`` (docs/architecture.md).
    """
    storefront = getattr(user, "creator_page", None)
    return storefront.path if storefront is not None else None


def may_see_orders(user) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    return user.is_staff or creator_storefront_path(user) is not None


def sold_below(storefront_path: str) -> Q:
    """Orders of the courses and workshop seats below a storefront (its page-tree path)."""
    return Q(course__path__startswith=storefront_path) | Q(
        workshop_registration__workshop__path__startswith=storefront_path
    )


def orders_visible_to(user) -> QuerySet[Order]:
    """Staff see every order; a creator the orders of the courses and workshops below their
    storefront."""
    orders = Order.objects.select_related("buyer", "course", "workshop_registration__workshop")
    if not may_see_orders(user):
        return orders.none()
    if user.is_staff:
        return orders
    storefront_path = creator_storefront_path(user)
    if storefront_path is None:
        return orders.none()
    return orders.filter(sold_below(storefront_path))


def storefronts_that_sell() -> QuerySet[Page]:
    """The creators' storefronts, found as the parent pages of courses and workshops (the
    admin's filter)."""
    item_paths = [
        *CoursePage.objects.values_list("path", flat=True),
        *WorkshopPage.objects.values_list("path", flat=True),
    ]
    parent_paths = {path[: -Page.steplen] for path in item_paths}
    return Page.objects.filter(path__in=parent_paths).order_by("title")


@dataclass(frozen=True)
class CodeFigures:
    """A follower code with what it sold: paid orders, the uses open and paid checkouts hold,
    and the revenue of its paid orders (one line per currency)."""

    code: DiscountCode
    paid_orders: int
    revenue: list[str]


def code_figures(*, storefront: Page) -> list[CodeFigures]:
    """The codes of one storefront with uses and revenue, in two queries however many orders.

    Revenue is what buyers paid (after the discount) on orders that are paid and not refunded.
    """
    codes = list(DiscountCode.objects.filter(storefront=storefront).select_related("item"))
    paid = Order.objects.filter(discount_code__in=codes, status=Order.Status.PAID)
    counts: dict[int, int] = {}
    revenue: dict[int, list[str]] = {}
    for row in (
        paid.values("discount_code_id", "currency")
        .annotate(orders=Count("pk"), total=Sum("amount"))
        .order_by("discount_code_id", "currency")
    ):
        counts[row["discount_code_id"]] = counts.get(row["discount_code_id"], 0) + row["orders"]
        revenue.setdefault(row["discount_code_id"], []).append(
            format_money(row["total"], row["currency"])
        )
    return [
        CodeFigures(code=code, paid_orders=counts.get(code.pk, 0), revenue=revenue.get(code.pk, []))
        for code in codes
    ]


# Stripe Connect: a creator's connected account as Stripe sees it (read outside any
# transaction, with the Stripe-Account header).


@dataclass(frozen=True)
class BalanceLine:
    currency: str
    available: int  # minor units, may be negative (a refund larger than what was there)
    pending: int

    @property
    def available_display(self) -> str:
        return format_money(self.available, self.currency)

    @property
    def pending_display(self) -> str:
        return format_money(self.pending, self.currency)


@dataclass(frozen=True)
class PayoutLine:
    payout_id: str
    amount: int
    currency: str
    status: str
    arrival_date: datetime | None

    @property
    def amount_display(self) -> str:
        return format_money(self.amount, self.currency)


@dataclass(frozen=True)
class ConnectedMoney:
    """A connected account's balance per currency and its latest payouts, or why they could
    not be read (``problem``, with empty lists)."""

    balance: list[BalanceLine]
    payouts: list[PayoutLine]
    problem: str = ""


def connected_money(account: ConnectedAccount) -> ConnectedMoney:
    """What Stripe holds for the creator now and what it paid out to their bank. Payouts are
    read from Stripe each time rather than recorded from ``payout.paid``: Stripe keeps them,
    and the creator's Express dashboard is the full record."""
    try:
        balance = gateway.retrieve_connected_balance(account.stripe_account_id).to_dict()
        payouts = gateway.list_connected_payouts(account.stripe_account_id)
    except stripe.StripeError:
        logger.warning("Could not read the balance of %s", account.stripe_account_id, exc_info=True)
        return ConnectedMoney(
            [], [], problem=gettext("Stripe could not be reached; try again in a minute.")
        )
    lines: dict[str, dict[str, int]] = {}
    for kind in ("available", "pending"):
        for entry in balance.get(kind) or []:
            currency = str(entry.get("currency", "")).upper()
            lines.setdefault(currency, {"available": 0, "pending": 0})[kind] += int(
                entry.get("amount") or 0
            )
    return ConnectedMoney(
        balance=[BalanceLine(currency, **lines[currency]) for currency in sorted(lines)],
        payouts=[
            PayoutLine(
                payout_id=payout.id,
                amount=payout.amount,
                currency=payout.currency.upper(),
                status=payout.status,
                arrival_date=datetime.fromtimestamp(payout.arrival_date, tz=UTC)
                if payout.arrival_date
                else None,
            )
            for payout in payouts
        ],
    )


def connect_states() -> dict[int, ConnectedAccount]:
    """Every creator's connected account, by creator id (the staff overview's column)."""
    return {account.creator_id: account for account in ConnectedAccount.objects.all()}
