"""The publish gate of paid pages: may this course or workshop be published with a price?

Whether a creator can be paid is payments' business (their Stripe connected account), and
courses and workshops never import payments (docs/architecture.md). So the pages ask through
``paid_publish_check``, a signal payments answers (payments/receivers.py): each receiver
returns why the owner may not publish a paid page, or None.

Two places ask. The page editor's form, when the action is Publish (``PaidPublishGateForm``),
so the creator sees the reason next to the price and nothing is saved. And the page's own
``publish()`` (``PaidPublishGateMixin``), which every other way a person publishes goes
through: bulk publish, a workflow's approval, the create view. Free pages are always fine; pages
outside every storefront are the platform's (no owner) and are never asked about.
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.dispatch import Signal

from .ownership import page_owner

# Sent with ``owner`` (the creator who owns the page); a receiver returns a reason or None.
paid_publish_check = Signal()


class PaidPublishRefused(PermissionDenied):
    """The page has a price and its owner can't be paid yet; the message says why."""


def paid_publish_refusal(*, owner: Any, price_amount: int) -> str | None:
    """Why a page of ``owner`` priced ``price_amount`` (minor units) may not be published."""
    if price_amount == 0 or owner is None:
        return None
    for _receiver, answer in paid_publish_check.send(sender=None, owner=owner):
        if answer:
            return str(answer)
    return None


class PaidPublishGateMixin:
    """For a priced page model: ``publish()`` by a person (a ``user``: bulk publish, a
    workflow's approval, the create view) refuses a paid revision whose owner can't be paid.

    Publishing without a user is code we trust: Wagtail's ``publish_scheduled`` (the gate
    asked when the page was scheduled; a refusal there would stop the command for every
    other page), the demo seed, data migrations.
    """

    def publish(self, revision, *args, **kwargs):
        if kwargs.get("user") is not None:
            page = revision.as_object()
            refusal = paid_publish_refusal(owner=page_owner(page), price_amount=page.price_amount)
            if refusal is not None:
                raise PaidPublishRefused(refusal)
        return super().publish(revision, *args, **kwargs)  # type: ignore[misc]


class PaidPublishGateForm:
    """For a priced page's editor form: Publish with a price the owner can't be paid for is a
    form error; saving a draft is always fine. Runs after the price is parsed (put it before
    ``MajorUnitPriceFormMixin`` in the bases)."""

    data: Any
    instance: Any
    parent_page: Any

    def clean(self):
        cleaned_data = super().clean()  # type: ignore[misc]
        price = cleaned_data.get("price_amount")
        if not self.data.get("action-publish") or not isinstance(price, int):
            return cleaned_data
        owner = page_owner(self.instance, parent=self.parent_page)
        refusal = paid_publish_refusal(owner=owner, price_amount=price)
        if refusal is not None:
            self.add_error(None, refusal)  # type: ignore[attr-defined]
        return cleaned_data
