from wagtail.models import Site

from home.models import CreatorPage, HomePage, StandardPage


def home_page() -> HomePage:
    """The HomePage that the 0002 migration made the default site's root."""
    return Site.objects.get(is_default_site=True).root_page.specific


def publish_child(parent, page):
    parent.add_child(instance=page)
    page.save_revision().publish()
    return page


def creator_page(**fields) -> CreatorPage:
    fields.setdefault("title", "Maya Okafor")
    fields.setdefault("niche", "Sourdough baking")
    return publish_child(home_page(), CreatorPage(**fields))


def standard_page(**fields) -> StandardPage:
    fields.setdefault("title", "About")
    fields.setdefault("show_in_menus", True)
    return publish_child(home_page(), StandardPage(**fields))
