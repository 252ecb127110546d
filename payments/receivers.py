"""Entry points from other apps; each hands straight to a service."""

from django.dispatch import receiver

from config.publish_gate import paid_publish_check
from workshops.signals import paid_hold_given_back, paid_registration_cancelled

from . import services


@receiver(paid_registration_cancelled)
def refund_cancelled_seat(sender, registration_id: int, **kwargs) -> None:
    # Sent after the cancellation committed; the refund is requested once per order.
    services.refund_cancelled_seat_soon(registration_id=registration_id)


@receiver(paid_hold_given_back)
def expire_checkout_of_given_back_seat(sender, registration_id: int, **kwargs) -> None:
    # Sent after the seat was given back; a worker expires the session (Stripe may be slow).
    services.expire_checkout_of_seat_soon(registration_id=registration_id)


@receiver(paid_publish_check)
def refuse_paid_publish_of_unpaid_creator(sender, owner, **kwargs) -> str | None:
    # A paid course or workshop is published only once its creator can be paid.
    return services.connect.publish_refusal(owner=owner)
