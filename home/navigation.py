"""What the site's header shows a signed-in account, kept so that it costs no query per page."""

from config import pagecache

from .models import CreatorPage

# Not a URL path: a generation of its own, purged whenever a storefront is saved or deleted
# (home/receivers.py), which is the only way an account gains or loses one.
STOREFRONTS_PATH = "#creator-storefronts"


def has_storefront(user) -> bool:
    """Whether ``user`` owns a storefront (a creator): kept per account until purged."""
    return pagecache.kept_until_purged(
        "has-storefront",
        path=STOREFRONTS_PATH,
        key=user.pk,
        render=lambda: CreatorPage.objects.filter(creator=user).exists(),
    )


def storefronts_changed() -> None:
    pagecache.purge_paths([STOREFRONTS_PATH])
