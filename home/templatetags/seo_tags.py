"""``{% share_meta %}``: canonical URL, Open Graph, Twitter card and JSON-LD in base.html."""

from django import template

from home import seo

register = template.Library()


@register.inclusion_tag("partials/share_meta.html", takes_context=True)
def share_meta(context, title: str = ""):
    request = context["request"]
    page = context.get("page")
    page = page.specific if page is not None and hasattr(page, "specific") else None
    card = seo.share_card(request=request, page=page, title=title)
    data = seo.structured_data(page=page, card=card)
    return {
        "card": card,
        "site_name": seo.SITE_NAME,
        "json_ld": seo.json_ld(data) if data else "",
        "csp_nonce": getattr(request, "csp_nonce", ""),
    }
