"""Entry points from other parts of the system; each hands straight to a service."""

from django.dispatch import receiver
from wagtail.signals import page_published

from . import services
from .models import WorkshopPage


@receiver(page_published, sender=WorkshopPage)
def sync_published_workshop(sender, instance, **kwargs):
    # Capacity, start time and recording link of the new revision reach the seat row and the
    # registrants; publishing the same values again changes nothing.
    services.sync_published_workshop(workshop=instance)
