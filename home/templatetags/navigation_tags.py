from django import template
from wagtail.models import Page, Site

register = template.Library()


@register.simple_tag(takes_context=True)
def menu_pages(context):
    """Live pages directly under the home page that editors ticked "show in menus"."""
    site = Site.find_for_request(context["request"])
    if site is None:
        return Page.objects.none()
    return site.root_page.get_children().live().in_menu().only("title", "url_path", "path")
