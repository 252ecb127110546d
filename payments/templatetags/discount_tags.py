"""The price of an item for this visitor, with the follower code in their session applied.

``{% load discount_tags %}{% code_offer page as offer %}``: ``offer`` is a
``payments.discounts.Offer`` (``amount_display``, ``list_display``, ``discount_display``,
``code.name``) or None when no code of the visitor's applies. Used by the price include
``payments/_price.html``, which card and page templates include with ``item=<page>``.
"""

from django import template

from payments import discounts

register = template.Library()


@register.simple_tag(takes_context=True)
def code_offer(context, item):
    request = context.get("request")
    if request is None or not hasattr(request, "session"):
        return None
    name = discounts.remembered(request.session)
    if not name or item is None:
        return None
    return discounts.check(name=name, item=item).offer
