"""Demo content for `make run`: an admin, two creators with storefronts, a learner, the course
catalog with a free and a paid course, and the learner enrolled in the free one.

Idempotent: running it again finds what exists and creates only what is missing. Later apps
extend it with their own demo content.
"""

from datetime import timedelta
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django.utils.html import strip_tags
from wagtail.models import Collection, Page, Site
from wagtail.rich_text import RichText

from courses import services as course_services
from courses.models import CourseIndexPage, CoursePage, LessonPage, Topic
from home.demo_images import demo_image
from home.models import CreatorPage, HomePage, StandardPage
from home.studio.services import provision_creator
from workshops.demo import seed_demo_workshops
from workshops.models import WorkshopIndexPage

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


def _text(html: str) -> tuple[str, RichText]:
    return ("text", RichText(html))


def _code(code: str, language: str = "") -> tuple[str, dict]:
    return ("code", {"language": language, "code": code.strip("\n")})


def _callout(kind: str, title: str, html: str) -> tuple[str, dict]:
    return ("callout", {"kind": kind, "title": title, "text": RichText(html)})


TOPICS = [("Baking", "baking"), ("Data & SQL", "data-sql"), ("Cooking at home", "cooking")]

# A free course on the first storefront and a paid one on the second (index into CREATORS).
# Lessons are (title, summary, body) on days 0, 1, 2, ...
COURSES: list[dict[str, Any]] = [
    {
        "creator": 0,
        "topics": ["baking", "cooking"],
        "page": {
            "title": "Weekday sourdough",
            "slug": "weekday-sourdough",
            "tagline": "A real loaf around a working week: ten minutes a day, five days.",
            "price_amount": 0,
            "currency": "EUR",
            "description": [
                _text(
                    "<p>Sourdough recipes assume you are home all Saturday. This course "
                    "doesn’t. Each morning a short lesson arrives; each evening you do one "
                    "small thing. On Friday you bake.</p>"
                )
            ],
            "outcomes": [
                ("outcome", "Keep a starter alive on one feeding a day"),
                ("outcome", "Mix, fold and shape around work and dinner"),
                ("outcome", "Use the fridge as your schedule"),
                ("outcome", "Bake an open, crackly loaf before breakfast"),
            ],
            "faq": [
                (
                    "question",
                    {
                        "question": "Do I need a starter already?",
                        "answer": RichText(
                            "<p>No. Day 1 shows you how to wake up a "
                            "dried one or borrow a spoonful.</p>"
                        ),
                    },
                ),
                (
                    "question",
                    {
                        "question": "What equipment do I need?",
                        "answer": RichText(
                            "<p>A bowl, a kitchen scale and a lidded pot that survives 250 °C.</p>"
                        ),
                    },
                ),
            ],
        },
        "lessons": [
            (
                "Wake up your starter",
                "Feed once, watch it rise, and learn what ‘ready’ looks like.",
                [
                    _text(
                        "<p>A starter is flour, water and patience. Tonight you feed it "
                        "once and put it somewhere warm. Tomorrow morning it should have "
                        "doubled and smell like yoghurt.</p>"
                    ),
                    _code(
                        """
starter    20 g
flour     100 g   (half white, half wholemeal)
water     100 g   (about 30 °C)
""",
                        "recipe",
                    ),
                    _callout(
                        "tip",
                        "Find the warm spot",
                        "<p>The top of the fridge or next to the router is often "
                        "<b>26 °C</b>: perfect.</p>",
                    ),
                ],
            ),
            (
                "Mix the dough after work",
                "Two minutes of mixing, then the dough does the work.",
                [
                    _text(
                        "<p>Bakers write recipes as percentages of the flour weight, so "
                        "any loaf size is the same recipe. Ours is 75 % water.</p>"
                    ),
                    _code(
                        """
flour      500 g   100 %
water      375 g    75 %
starter    100 g    20 %
salt        10 g     2 %
""",
                        "recipe",
                    ),
                    _callout(
                        "note",
                        "Hold back the salt",
                        "<p>Add the salt after 30 minutes: the flour soaks up water "
                        "better without it.</p>",
                    ),
                ],
            ),
            (
                "Stretch and fold while dinner cooks",
                "Four folds, thirty minutes apart, build the dough’s strength.",
                [
                    _text(
                        "<p>Wet your hand, lift one side of the dough, fold it over. "
                        "Turn the bowl a quarter. Repeat four times. That is one set.</p>"
                    ),
                    _code(
                        """
18:30  set 1
19:00  set 2
19:30  set 3
20:00  set 4, then leave it covered
""",
                        "schedule",
                    ),
                    _callout(
                        "warning",
                        "Don’t add flour",
                        "<p>Sticky is normal. Wet hands, not more flour.</p>",
                    ),
                ],
            ),
            (
                "Shape and cold-retard overnight",
                "Shape before bed; the fridge slows everything down until morning.",
                [
                    _text(
                        "<p>Tip the dough out, fold it into a tight ball, and roll it "
                        "towards you to build surface tension. Into a floured bowl, "
                        "covered, into the fridge.</p>"
                    ),
                    _callout(
                        "tip",
                        "The poke test",
                        "<p>Press a floured finger in. If the dent springs back slowly, "
                        "it is ready.</p>",
                    ),
                ],
            ),
            (
                "Bake before breakfast",
                "Straight from the fridge into a hot pot: 40 minutes to a real loaf.",
                [
                    _text(
                        "<p>Heat the oven and the pot to 250 °C. Turn the dough onto "
                        "paper, score it once, lower it in, lid on.</p>"
                    ),
                    _code(
                        """
20 min  lid on, 250 °C
20 min  lid off, 230 °C
 1 h    cool on a rack before cutting
""",
                        "schedule",
                    ),
                    _callout(
                        "note",
                        "Wait for it",
                        "<p>The crumb is still cooking while it cools. Cut it too early "
                        "and it turns gummy.</p>",
                    ),
                ],
            ),
        ],
    },
    {
        "creator": 1,
        "topics": ["data-sql"],
        "page": {
            "title": "SQL you’ll use on Monday",
            "slug": "sql-youll-use-on-monday",
            "tagline": "Seven lessons, seven queries you will actually write at work.",
            "price_amount": 4900,
            "currency": "EUR",
            "description": [
                _text(
                    "<p>No theory you won’t use. Each day is one real question from an "
                    "analyst’s week, the query that answers it, and the mistake people "
                    "make with it.</p>"
                )
            ],
            "outcomes": [
                ("outcome", "Answer ‘how many, per what’ with GROUP BY"),
                ("outcome", "Join tables without counting rows twice"),
                ("outcome", "Running totals and rankings with window functions"),
                ("outcome", "Dates and time zones that don’t lie"),
            ],
            "faq": [
                (
                    "question",
                    {
                        "question": "Which database?",
                        "answer": RichText(
                            "<p>Examples use PostgreSQL; every lesson notes "
                            "what differs in MySQL and SQLite.</p>"
                        ),
                    },
                )
            ],
        },
        "lessons": [
            (
                "SELECT only what you need",
                "Columns by name, and a LIMIT while you explore.",
                [
                    _text("<p>Start every exploration small: name the columns, cap the rows.</p>"),
                    _code(
                        "SELECT id, email, created_at\nFROM customers\nORDER BY created_at DESC\n"
                        "LIMIT 20;",
                        "sql",
                    ),
                    _callout(
                        "tip",
                        "Why not SELECT *?",
                        "<p>It breaks when a column is "
                        "added, and it drags every byte over the network.</p>",
                    ),
                ],
            ),
            (
                "Filter with WHERE, not with your eyes",
                "Let the database find the rows; NULL needs IS NULL.",
                [
                    _code(
                        "SELECT id, total_cents\nFROM orders\nWHERE status = 'paid'\n"
                        "  AND refunded_at IS NULL;",
                        "sql",
                    ),
                    _callout(
                        "warning",
                        "= NULL is never true",
                        "<p>Compare with "
                        "<code>IS NULL</code>; <code>= NULL</code> matches nothing.</p>",
                    ),
                ],
            ),
            (
                "GROUP BY for the Monday report",
                "Revenue per week in one query.",
                [
                    _code(
                        "SELECT date_trunc('week', paid_at) AS week,\n"
                        "       sum(total_cents) / 100.0 AS revenue\nFROM orders\n"
                        "GROUP BY 1\nORDER BY 1;",
                        "sql",
                    ),
                    _text("<p>Every column in the SELECT is either grouped or aggregated.</p>"),
                ],
            ),
            (
                "JOINs without duplicates",
                "Aggregate first, then join.",
                [
                    _code(
                        "WITH per_customer AS (\n  SELECT customer_id, count(*) AS orders\n"
                        "  FROM orders GROUP BY customer_id\n)\n"
                        "SELECT c.email, p.orders\nFROM customers c\n"
                        "JOIN per_customer p ON p.customer_id = c.id;",
                        "sql",
                    ),
                    _callout(
                        "note",
                        "Fan-out",
                        "<p>Joining two one-to-many tables "
                        "multiplies rows. Aggregate each side first.</p>",
                    ),
                ],
            ),
            (
                "Window functions for running totals",
                "OVER (ORDER BY …) keeps every row and adds a running sum.",
                [
                    _code(
                        "SELECT paid_at::date AS day,\n"
                        "       sum(total_cents) OVER (ORDER BY paid_at::date) AS running\n"
                        "FROM orders;",
                        "sql",
                    ),
                ],
            ),
            (
                "CTEs to read your own queries",
                "Name each step; future you will thank you.",
                [
                    _text("<p>A <code>WITH</code> clause turns a wall of SQL into steps.</p>"),
                    _code(
                        "WITH active AS (SELECT * FROM customers WHERE active)\n"
                        "SELECT count(*) FROM active;",
                        "sql",
                    ),
                ],
            ),
            (
                "Dates and time zones",
                "Store UTC, report in the reader’s zone.",
                [
                    _code(
                        "SELECT created_at AT TIME ZONE 'Europe/Berlin' AS local_time\n"
                        "FROM orders;",
                        "sql",
                    ),
                    _callout(
                        "warning",
                        "Daylight saving",
                        "<p>A day is not always 24 "
                        "hours. Group by local date, not by UTC hour ranges.</p>",
                    ),
                ],
            ),
        ],
    },
]

STANDARD_PAGES = [
    ("About", "about", "Small courses from people who know their niche, on your schedule."),
    ("Terms", "terms", "The rules of using microcourses, in plain words."),
    ("Privacy", "privacy", "What we store about you, why, and how to have it deleted."),
]


class Command(BaseCommand):
    help = "Create demo users and pages (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-images",
            action="store_true",
            help="Skip the drawn portraits, banners and covers (e.g. before the media storage "
            "runs, as the production drill's release step does).",
        )

    @transaction.atomic
    def handle(self, *args, **options):
        self.with_images = not options["no_images"]
        # Each storefront's own image collection, where its demo pictures go.
        self.image_collections: dict[int, Collection] = {}
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
            creators.append(self.creator(user, spec))
        learner = self.user(LEARNER)
        catalog = self.page(
            home,
            CourseIndexPage,
            slug="courses",
            title="Courses",
            introduction="Small courses from people who know their niche, one lesson a day.",
            show_in_menus=True,
        )
        courses = [self.course(creators[spec["creator"]], spec) for spec in COURSES]
        self.enroll_demo_learner(learner, courses[0])
        workshops = seed_demo_workshops(creator_pages=creators)
        for workshop in workshops:
            self.with_cover(workshop, workshop.title)

        self.stdout.write(self.style.SUCCESS("Demo content is ready. Sign in with:"))
        for user, role in (
            [(admin, "admin (Wagtail admin at /admin/)")]
            + [(page.creator, f"creator, storefront {page.url}") for page in creators]
            + [(learner, "learner")]
        ):
            self.stdout.write(f"  {user.email:<22} {DEMO_PASSWORD}   {role}")
        self.stdout.write(f"  The course catalog is at {catalog.url}")
        workshop_index = WorkshopIndexPage.objects.live().first()
        if workshops and workshop_index is not None:
            self.stdout.write(f"  Live workshops are at {workshop_index.url}")

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

    def creator(self, user, spec: dict) -> CreatorPage:
        """The storefront, group and collections exactly as approving an application makes
        them (the same service), then the demo's portrait, banner and links."""
        page_spec = spec["page"]
        space = provision_creator(
            user=user,
            display_name=page_spec["title"],
            niche=page_spec["niche"],
            bio=strip_tags(page_spec["bio"]),
        )
        storefront = space.storefront
        self.image_collections[storefront.pk] = space.image_collection
        if self.with_images and (storefront.avatar_id is None or storefront.banner_id is None):
            initials = "".join(word[0] for word in page_spec["title"].split()[:2])
            storefront.avatar = demo_image(
                title=f"{page_spec['title']}: portrait",
                size=(640, 640),
                collection=space.image_collection,
                initials=initials,
            )
            storefront.banner = demo_image(
                title=f"{page_spec['title']}: banner",
                size=(1600, 500),
                collection=space.image_collection,
                text=page_spec["niche"],
            )
            storefront.save_revision(user=user).publish()
        return storefront

    def with_cover(self, page: Page, title: str) -> None:
        """A drawn 16:9 cover in its creator's image collection, the first time only."""
        page = page.specific
        if not self.with_images or page.cover_image_id is not None:
            return
        owner = page.get_parent().specific
        collection = Collection.objects.filter(
            name__endswith=f"images ({owner.creator_id})"
        ).first()
        page.cover_image = demo_image(
            title=f"{title}: cover", size=(1600, 900), collection=collection, text=title
        )
        page.save_revision().publish()

    def page(self, parent: Page, model: type[Page], **fields) -> Page:
        existing = model.objects.child_of(parent).filter(slug=fields["slug"]).first()
        if existing is not None:
            return existing
        page = model(**fields)
        parent.add_child(instance=page)
        page.save_revision().publish()
        return page

    def course(self, creator: Page, spec: dict) -> CoursePage:
        topics = [
            Topic.objects.get_or_create(slug=slug, defaults={"name": name})[0]
            for name, slug in TOPICS
        ]
        course = CoursePage.objects.child_of(creator).filter(slug=spec["page"]["slug"]).first()
        if course is None:
            course = CoursePage(**spec["page"])
            course.topics.set([topic for topic in topics if topic.slug in spec["topics"]])
            creator.add_child(instance=course)
            course.save_revision().publish()
        self.with_cover(course, spec["page"]["title"])
        for day, (title, summary, body) in enumerate(spec["lessons"]):
            self.page(
                course,
                LessonPage,
                slug=f"day-{day}",
                title=title,
                day=day,
                summary=summary,
                estimated_minutes=8 + 2 * len(body),
                body=body,
            )
        return course

    def enroll_demo_learner(self, learner, course: CoursePage) -> None:
        """Enrolled since yesterday: day 0 is read and done, day 1 waits, the rest will come."""
        yesterday = timezone.now() - timedelta(days=1)
        enrollment = course_services.enroll(learner=learner, course=course, now=yesterday)
        first_lesson = course.lessons().first()
        if first_lesson is not None:
            course_services.complete_lesson(
                enrollment=enrollment, lesson=first_lesson, now=yesterday
            )
