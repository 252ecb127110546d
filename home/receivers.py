"""Signal receivers of the site pages; each hands straight to the module that owns the rule."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from . import navigation
from .models import CreatorPage


@receiver(post_save, sender=CreatorPage)
@receiver(post_delete, sender=CreatorPage)
def forget_who_has_a_storefront(sender, **kwargs):
    # The header's "Studio" link must appear (or go) on the account's next page at once.
    navigation.storefronts_changed()
