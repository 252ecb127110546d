"""Demo content for `make run`: an admin, two creators with storefronts, a learner.

Idempotent: running it again finds what exists and creates only what is missing. Later apps
extend it with their own demo content (see ``seed_demo_content`` hooks below).
"""

from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from wagtail.models import Page, Site

from home.models import CreatorPage, HomePage, StandardPage

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - printed for the local demo, never used in production

ADMIN = {"email": "admin@example.com", "first_name": "Ada", "last_name": "Admin"}
CREATORS: list[dict[str, Any]] = [
    {
        "email": "maya@example.com",
        "first_name": "Maya",
        "last_name": "Okafor",
        "time_zone": "Europe/London",
        "page": {
            "title": "Maya Okafor",
            "slug": "maya-okafor",
            "niche": "Sourdough baking at home",
            "bio": "<p>Baker and teacher. I help busy people bake a great loaf "
            "on a weekday schedule.</p>",
        },
    },
    {
        "email": "theo@example.com",
        "first_name": "Theo",
        "last_name": "Lindqvist",
        "time_zone": "America/New_York",
        "page": {
            "title": "Theo Lindqvist",
            "slug": "theo-lindqvist",
            "niche": "Practical SQL for analysts",
            "bio": "<p>Data engineer for fifteen years. Short, practical lessons "
            "that you use the same day.</p>",
        },
    },
]
LEARNER = {
    "email": "learner@example.com",
    "first_name": "Lee",
    "last_name": "Learner",
    "time_zone": "Europe/Berlin",
}
STANDARD_PAGES = [
    ("About", "about", "Small courses from people who know their niche, on your schedule."),
    ("Terms", "terms", "The rules of using microcourses, in plain words."),
    ("Privacy", "privacy", "What we store about you, why, and how to have it deleted."),
]


class Command(BaseCommand):
    help = "Create demo users and pages (safe to run again)."

    @transaction.atomic
    def handle(self, *args, **options):
        home = self.home_page()
        admin = self.user(ADMIN, is_staff=True, is_superuser=True)
        for title, slug, introduction in STANDARD_PAGES:
            self.page(
                home,
                StandardPage,
                slug=slug,
                title=title,
                introduction=introduction,
                show_in_menus=True,
            )
        creators = []
        for spec in CREATORS:
            user = self.user(spec)
            creators.append(self.page(home, CreatorPage, creator=user, **spec["page"]))
        learner = self.user(LEARNER)

        self.stdout.write(self.style.SUCCESS("Demo content is ready. Sign in with:"))
        for user, role in (
            [(admin, "admin (Wagtail admin at /admin/)")]
            + [(page.creator, f"creator, storefront {page.url}") for page in creators]
            + [(learner, "learner")]
        ):
            self.stdout.write(f"  {user.email:<22} {DEMO_PASSWORD}   {role}")

    def home_page(self) -> HomePage:
        site = Site.objects.get(is_default_site=True)
        return site.root_page.specific

    def user(self, spec: dict, **flags):
        fields = {key: value for key, value in spec.items() if key not in {"email", "page"}}
        user, created = get_user_model().objects.get_or_create(
            email=spec["email"], defaults={**fields, **flags}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        # allauth requires a verified address before it lets anyone sign in.
        EmailAddress.objects.update_or_create(
            user=user, email=user.email, defaults={"verified": True, "primary": True}
        )
        return user

    def page(self, parent: Page, model: type[Page], **fields) -> Page:
        existing = model.objects.child_of(parent).filter(slug=fields["slug"]).first()
        if existing is not None:
            return existing
        page = model(**fields)
        parent.add_child(instance=page)
        page.save_revision().publish()
        return page
