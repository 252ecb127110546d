from dataclasses import dataclass

from django import template
from wagtail.models import Site

from config import pagecache
from home import navigation

register = template.Library()


@dataclass(frozen=True)
class MenuItem:
    title: str
    url: str


@register.simple_tag(takes_context=True)
def menu_pages(context) -> list[MenuItem]:
    """Live pages directly under the home page that editors ticked "show in menus".

    Kept until the home page is purged: any publish, unpublish, move or delete below it
    purges it (config/pagecache), and the menu changes only through those.
    """
    site = Site.find_for_request(context["request"])
    if site is None:
        return []

    def read() -> list[MenuItem]:
        pages = site.root_page.get_children().live().in_menu().only("title", "url_path", "path")
        return [MenuItem(title=page.title, url=page.url or "") for page in pages]

    return pagecache.kept_until_purged("menu", path="/", key=site.root_page_id, render=read)


@register.simple_tag
def opens_studio(user) -> bool:
    """Whether the header links to the Studio: staff, and creators (kept per account, so a
    signed-in page does not look the storefront up every time)."""
    if not user.is_authenticated:
        return False
    return user.is_staff or navigation.has_storefront(user)
