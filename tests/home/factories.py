from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from wagtail.coreutils import get_supported_content_language_variant
from wagtail.models import Locale, Page, Site

from home.models import CreatorPage, HomePage, StandardPage


def home_page() -> HomePage:
    """The default site's HomePage, made again if a transactional test's flush removed it.

    The migrations make it. pytest-django empties the database after each test with real
    commits (``transaction=True``), and ``serialized_rollback`` cannot be relied on to restore
    it: once a browser test has started Playwright's event loop, Django looks the serialized
    data up on another connection object and silently restores nothing. Making the few rows
    here works in any order.
    """
    site = Site.objects.filter(is_default_site=True).select_related("root_page").first()
    if site is not None:
        return site.root_page.specific
    # The flush's post_migrate made content types anew, with new ids: forget the cached ones.
    ContentType.objects.clear_cache()
    if not Locale.objects.exists():
        Locale.objects.create(
            language_code=get_supported_content_language_variant(settings.LANGUAGE_CODE)
        )
    root = Page.get_first_root_node() or Page.add_root(instance=Page(title="Root", slug="root"))
    home = root.add_child(instance=HomePage(title="microcourses", slug="home"))
    Site.objects.create(
        hostname="localhost",
        port=80,
        site_name="microcourses",
        root_page=home,
        is_default_site=True,
    )
    return home


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
