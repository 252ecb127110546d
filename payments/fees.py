"""The platform's fee on a sale and the creator's share, in the currency's minor unit.

The one rounding rule: the fee is ``amount * percent / 100`` rounded half up to a whole minor
unit (cent, yen), computed with ``Decimal`` (never a float); the creator's share is the rest,
so fee + share is always exactly the amount paid. Examples at 10 %: €19.99 (1999 cents) ->
fee 200, share 1799; ¥1,505 -> fee 151 (150.5 rounds up), share 1354; €0.55 -> fee 6, share 49.

Refunds give back fee and share in proportion (Stripe's ``refund_application_fee`` and
``reverse_transfer``): ``split_refund`` applies the same rule to the part of the payment
refunded *so far*, and a refund gives back the difference from before. So the fee refunds of
an order refunded in several parts add up to its fee exactly, as at Stripe (a rule per refund
could give back one minor unit too many or too few over three refunds).
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings


@dataclass(frozen=True)
class Split:
    fee: int  # the platform's, in minor units
    creator_share: int  # the creator's, in minor units


def platform_fee_percent(creator_percent: Decimal | None = None) -> Decimal:
    """A creator's own percentage when staff set one, else ``PLATFORM_FEE_PERCENT``."""
    if creator_percent is not None:
        return Decimal(creator_percent)
    return Decimal(str(settings.PLATFORM_FEE_PERCENT))


def split(amount: int, percent: Decimal) -> Split:
    """Fee and creator share of ``amount`` minor units at ``percent``, by the rule above."""
    if amount < 0:
        raise ValueError("amount must not be negative")
    if not Decimal(0) <= percent <= Decimal(100):
        raise ValueError("percent must be between 0 and 100")
    fee = int((Decimal(amount) * percent / Decimal(100)).quantize(Decimal(1), ROUND_HALF_UP))
    return Split(fee=fee, creator_share=amount - fee)


def split_refund(*, refund_amount: int, amount: int, fee: int, refunded_before: int = 0) -> Split:
    """The part of ``fee`` and of the creator's share that a refund of ``refund_amount`` (of
    ``amount`` paid, ``refunded_before`` of it refunded already) gives back, in proportion:
    the fee share of everything refunded after it, less that of everything before it."""
    if amount == 0:
        return Split(fee=0, creator_share=0)
    fee_back = _fee_share(fee, refunded_before + refund_amount, amount) - _fee_share(
        fee, refunded_before, amount
    )
    return Split(fee=fee_back, creator_share=refund_amount - fee_back)


def _fee_share(fee: int, refunded: int, amount: int) -> int:
    """``fee * refunded / amount``, rounded half up to a whole minor unit."""
    return int(
        (Decimal(refunded) * Decimal(fee) / Decimal(amount)).quantize(Decimal(1), ROUND_HALF_UP)
    )
