"""Follower codes for tests, made through the service a creator's studio form calls."""

from decimal import Decimal

from payments import discounts
from payments.models import DiscountCode


def percent_code(*, creator, name: str = "MAYA20", percent: int = 20, **fields) -> DiscountCode:
    return discounts.create_code(creator=creator, name=name, percent_off=percent, **fields)


def amount_code(*, creator, name: str, amount: str, **fields) -> DiscountCode:
    return discounts.create_code(
        creator=creator, name=name, amount_off_major=Decimal(amount), **fields
    )
