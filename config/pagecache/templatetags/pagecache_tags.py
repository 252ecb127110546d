"""``{% action_form url %}``: the opening tag of a button's POST form on a cacheable page.

The CSRF token goes in only for a signed-in visitor. An anonymous visitor's page then carries
nothing personal (a token comes with a cookie of its own), so one cached copy serves everyone;
the views behind these buttons only send an anonymous visitor to sign in, and check the token
of everyone else (``config.pagecache.csrf_when_signed_in``). Close it with ``</form>``.
"""

from django import template
from django.middleware.csrf import get_token
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag(takes_context=True)
def action_form(context, action: str, css_class: str = "") -> SafeString:
    request = context["request"]
    class_attribute = format_html(' class="{}"', css_class) if css_class else ""
    opening = format_html('<form method="post" action="{}"{}>', action, class_attribute)
    if not request.user.is_authenticated:
        return opening
    return format_html(
        '{}<input type="hidden" name="csrfmiddlewaretoken" value="{}">',
        opening,
        get_token(request),
    )
