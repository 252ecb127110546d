"""Follower codes: a creator's discount codes, shown on pages and charged at checkout.

Why our own ``DiscountCode`` model and not Stripe promotion codes: see its docstring.

How a code travels: ``?code=NAME`` on a course or workshop page (payments/wagtail_hooks.py) or
the short link ``/c/NAME/`` (views.follow_code) puts the code's name in the session; pages show
the discounted price through ``{% code_offer page as offer %}`` (templatetags/discount_tags.py);
checkout takes one of the code's uses (``take_use``) in the same transaction that writes the
order, and an unpaid end of the order gives it back (``give_back_use``).

Uses are counted by one conditional ``UPDATE ... SET uses_taken = uses_taken + 1 WHERE
uses_taken < max_uses`` (PostgreSQL re-checks the condition on the row it locked, so
concurrent buyers can't take more uses than the limit), under a CHECK constraint as well.
"""

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.models import Page

from accounts.models import User
from config.money import format_money, minor_unit_exponent, to_minor_units
from courses.models import CoursePage
from workshops.models import WorkshopPage

from .models import DiscountCode, Order

logger = logging.getLogger(__name__)

SESSION_KEY = "discount_code"
NAME_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,39}$")


# Stripe's smallest card charge is about 0.50 of a major unit (50 in JPY, whose minor unit is
# the yen): a code never takes a price below it, so a discounted checkout always works.
SMALLEST_CHARGE_MINOR = 50


class DiscountCodeError(Exception):
    """A code can't be made as asked; the message is fit to show the creator."""


@dataclass(frozen=True)
class Offer:
    """What a code does to one item's price, in the item's minor unit."""

    code: DiscountCode
    list_amount: int
    amount: int
    currency: str

    @property
    def discount_amount(self) -> int:
        return self.list_amount - self.amount

    @property
    def amount_display(self) -> str:
        return format_money(self.amount, self.currency)

    @property
    def list_display(self) -> str:
        return format_money(self.list_amount, self.currency)

    @property
    def discount_display(self) -> str:
        return format_money(self.discount_amount, self.currency)


@dataclass(frozen=True)
class CodeCheck:
    """A code looked up for one item: an offer, or the reason it gives none (fit to show)."""

    name: str
    offer: Offer | None = None
    problem: str | None = None


def normalize(name: Any) -> str:
    return str(name or "").strip().upper()[:40]


def _now(now: datetime | None) -> datetime:
    return now if now is not None else timezone.now()


def discounted_amount(*, code: DiscountCode, list_amount: int, currency: str) -> int:
    if code.kind == DiscountCode.Kind.PERCENT:
        # Integer arithmetic, rounded down to the buyer's advantage: no floats for money.
        off = list_amount * (code.percent_off or 0) // 100
    else:
        off = code.amount_off or 0
    return max(list_amount - off, min(list_amount, SMALLEST_CHARGE_MINOR))


def _unusable_reason(code: DiscountCode | None, name: str, now: datetime) -> str | None:
    """Why ``code`` can't be used by anyone now (None if it can)."""
    if code is None or not code.active:
        return _("There is no code “%(name)s”. Prices are shown in full.") % {"name": name}
    if code.expires_at is not None and code.expires_at <= now:
        return _("The code “%(name)s” has expired. Prices are shown in full.") % {"name": name}
    if code.max_uses is not None and code.uses_taken >= code.max_uses:
        return _("The code “%(name)s” has been used up. Prices are shown in full.") % {"name": name}
    return None


def applies_to(code: DiscountCode, item: Page) -> bool:
    """A code works on its creator's own paid items only (and on the one item it names)."""
    if not isinstance(item, CoursePage | WorkshopPage) or item.is_free:
        return False
    if not item.path.startswith(code.storefront.path) or item.pk == code.storefront_id:
        return False
    if code.item_id is not None and code.item_id != item.pk:
        return False
    return code.kind == DiscountCode.Kind.PERCENT or code.currency == item.currency


def remember(*, session, name: str) -> None:
    """Keep the code for this visitor's checkout (only the name: it is checked again there)."""
    session[SESSION_KEY] = name


def remembered(session) -> str:
    return normalize(session.get(SESSION_KEY, ""))


def find(name: Any) -> DiscountCode | None:
    name = normalize(name)
    if not name:
        return None
    return DiscountCode.objects.select_related("storefront").filter(name=name).first()


def check(*, name: Any, item: Page | None = None, now: datetime | None = None) -> CodeCheck:
    """Whether the code ``name`` works now (and on ``item``, when given): for showing prices.

    Reads only: the use is taken at checkout, where the code may have been used up meanwhile.
    """
    name = normalize(name)
    code = find(name)
    problem = _unusable_reason(code, name, _now(now))
    if problem is not None or code is None:
        return CodeCheck(name=name, problem=problem)
    if item is None:
        return CodeCheck(name=name)
    if not applies_to(code, item):
        return CodeCheck(
            name=name,
            problem=_("The code “%(name)s” does not apply to “%(title)s”. It costs the full price.")
            % {"name": name, "title": item.title},
        )
    offer = Offer(
        code=code,
        list_amount=item.price_amount,
        amount=discounted_amount(
            code=code,
            list_amount=item.price_amount,
            currency=item.currency,
        ),
        currency=item.currency,
    )
    return CodeCheck(name=name, offer=offer)


def take_use(
    *, name: Any, item: CoursePage | WorkshopPage, now: datetime | None = None
) -> Offer | None:
    """Take one use of the code for an order of ``item``; None (full price) if it has none.

    Call inside the transaction that writes the order: if that rolls back, so does the use.
    """
    now = _now(now)
    looked_up = check(name=name, item=item, now=now)
    if looked_up.offer is None:
        return None
    taken = (
        DiscountCode.objects.filter(pk=looked_up.offer.code.pk, active=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .filter(Q(max_uses__isnull=True) | Q(uses_taken__lt=F("max_uses")))
        .update(uses_taken=F("uses_taken") + 1)
    )
    return looked_up.offer if taken else None


def order_fields(offer: Offer | None, *, item: CoursePage | WorkshopPage) -> dict[str, Any]:
    """The Order's amount and discount fields for ``item`` bought with ``offer`` (or none)."""
    if offer is None:
        return {"amount": item.price_amount}
    return {
        "amount": offer.amount,
        "list_amount": offer.list_amount,
        "discount_amount": offer.discount_amount,
        "discount_code": offer.code,
        "discount_use_held": True,
    }


def give_back_use(*, order: Order) -> None:
    """The order ended unpaid (expired, cancelled, failed): its code's use is free again, once.

    Call with the order row locked, in the transaction that closes it.
    """
    if not order.discount_use_held or order.discount_code_id is None:
        return
    DiscountCode.objects.filter(pk=order.discount_code_id, uses_taken__gt=0).update(
        uses_taken=F("uses_taken") - 1
    )
    order.discount_use_held = False
    order.save(update_fields=["discount_use_held", "updated_at"])


def keep_use_after_late_payment(*, order: Order) -> None:
    """A closed order was paid after all (Stripe took the discounted amount): take its use
    again if the code has one left. If not, the sale stands over the limit (the money is
    taken) and is logged; the studio counts paid orders, so it shows the truth."""
    if order.discount_use_held or order.discount_code_id is None:
        return
    taken = (
        DiscountCode.objects.filter(pk=order.discount_code_id)
        .filter(Q(max_uses__isnull=True) | Q(uses_taken__lt=F("max_uses")))
        .update(uses_taken=F("uses_taken") + 1)
    )
    if not taken:
        logger.warning(
            "Order %s was paid late with code %s over its limit", order.pk, order.discount_code_id
        )
        return
    order.discount_use_held = True
    order.save(update_fields=["discount_use_held", "updated_at"])


# The creator's side


def storefront_of(user: User) -> Page | None:
    """The creator's storefront, through ``home.CreatorPage.creator``'s reverse accessor (no
    app imports home)."""
    return getattr(user, "creator_page", None)


def items_of(storefront: Page) -> list[Page]:
    """The creator's paid courses and workshops, for the code form's choice of item."""
    below = {"path__startswith": storefront.path, "depth": storefront.depth + 1}
    courses = CoursePage.objects.filter(**below).exclude(price_amount=0).order_by("title")
    workshops = WorkshopPage.objects.filter(**below).exclude(price_amount=0).order_by("title")
    return [*courses, *workshops]


def create_code(
    *,
    creator: User,
    name: str,
    item: Page | None = None,
    percent_off: int | None = None,
    amount_off_major: Decimal | None = None,
    currency: str = "",
    expires_at: datetime | None = None,
    max_uses: int | None = None,
) -> DiscountCode:
    """A new code of ``creator``'s, for ``item`` (one of theirs) or all their items.

    A fixed amount is typed in major units and is in the item's currency (or ``currency`` for
    a code on every item, which then applies to the items priced in it). Raises
    ``DiscountCodeError`` (fit to show).
    """
    storefront = storefront_of(creator)
    if storefront is None:
        raise DiscountCodeError(_("Only creators can make codes."))
    name = normalize(name)
    if not NAME_PATTERN.match(name):
        raise DiscountCodeError(
            _("A code is 3 to 40 letters, digits, dashes or underscores, starting with a letter.")
        )
    if item is not None:
        item = item.specific
        # Isolation (DESIGN.md #9): a creator's codes apply to their own items only.
        if not isinstance(item, CoursePage | WorkshopPage) or not item.path.startswith(
            storefront.path
        ):
            raise DiscountCodeError(
                _("You can only make codes for your own courses and workshops.")
            )
        if item.is_free:
            raise DiscountCodeError(_("“%(title)s” is free.") % {"title": item.title})
        currency = item.currency
    if (percent_off is None) == (amount_off_major is None):
        raise DiscountCodeError(_("Give either a percentage or an amount off."))
    fields: dict[str, Any]
    if percent_off is not None:
        if not 1 <= percent_off <= 100:
            raise DiscountCodeError(_("A percentage is between 1 and 100."))
        fields = {"kind": DiscountCode.Kind.PERCENT, "percent_off": percent_off, "currency": ""}
    else:
        if not currency:
            raise DiscountCodeError(_("Choose the currency of the amount."))
        assert amount_off_major is not None  # noqa: S101 - for the type checker
        try:
            amount_off = to_minor_units(amount_off_major, currency)
        except ValueError:
            amount_off = 0
        if amount_off < 1:
            raise DiscountCodeError(
                _("Enter a positive amount with at most %(n)d decimals.")
                % {"n": minor_unit_exponent(currency)}
            )
        fields = {"kind": DiscountCode.Kind.AMOUNT, "amount_off": amount_off, "currency": currency}
    if max_uses is not None and max_uses < 1:
        raise DiscountCodeError(_("The maximum number of uses is at least 1."))
    try:
        with transaction.atomic():
            return DiscountCode.objects.create(
                name=name,
                creator=creator,
                storefront=storefront,
                item=item,
                expires_at=expires_at,
                max_uses=max_uses,
                **fields,
            )
    except IntegrityError as problem:  # the unique name
        raise DiscountCodeError(
            _("The code “%(name)s” is taken. Try another.") % {"name": name}
        ) from problem


def set_active(*, creator: User, code_id: int, active: bool) -> bool:
    """Switch one of ``creator``'s codes on or off; False if it is not theirs."""
    return bool(DiscountCode.objects.filter(pk=code_id, creator=creator).update(active=active))
