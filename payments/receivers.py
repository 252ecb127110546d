"""Entry points from other apps; each hands straight to a service."""

from django.dispatch import receiver

from workshops.signals import paid_registration_cancelled

from . import services


@receiver(paid_registration_cancelled)
def refund_cancelled_seat(sender, registration_id: int, **kwargs) -> None:
    # Sent after the cancellation committed; the refund is requested once per order.
    services.refund_cancelled_seat_soon(registration_id=registration_id)
