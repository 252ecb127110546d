"""The course pages: the catalog, a course page, storefronts, and the editor's page rules."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from wagtail.models import Page
from wagtail.test.utils import WagtailPageTestCase
from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield

from courses import services
from courses.models import CourseIndexPage, CoursePage, Enrollment, LessonPage
from home.models import CreatorPage
from tests.courses.factories import (
    body_sentence,
    catalog_page,
    course_page,
    enroll,
    learner,
    topic,
)
from tests.home.factories import creator_page, home_page
from workshops.models import WorkshopPage

pytestmark = pytest.mark.django_db


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        assert response.status_code == 200
    return len(captured)


# The catalog


def test_catalog_lists_every_live_course_with_creator_price_and_topics(client):
    catalog = catalog_page()
    maya = creator_page(title="Maya Okafor", slug="maya")
    theo = creator_page(title="Theo Lindqvist", slug="theo")
    course_page(creator=maya, title="Weekday sourdough", topics=[topic("Baking")])
    course_page(creator=theo, title="SQL on Monday", price_amount=4900, topics=[topic("SQL")])
    draft = course_page(creator=theo, title="Unfinished course")
    draft.unpublish()

    html = client.get(catalog.url).content.decode()

    assert "Weekday sourdough" in html
    assert "SQL on Monday" in html
    assert "Unfinished course" not in html
    assert 'href="/maya/"' in html and "Theo Lindqvist" in html
    assert "€49.00" in html and "Free" in html
    assert "Baking" in html and "SQL" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"topic": "baking"}, {"Weekday sourdough"}),
        ({"creator": "theo"}, {"SQL on Monday", "Window functions"}),
        ({"topic": "sql", "creator": "theo"}, {"SQL on Monday", "Window functions"}),
        ({"topic": "baking", "creator": "theo"}, set()),
        ({"creator": "nobody"}, set()),
    ],
    ids=["by-topic", "by-creator", "both", "no-match", "unknown-creator"],
)
def test_catalog_filters_by_topic_and_creator(client, query, expected):
    catalog = catalog_page()
    maya = creator_page(title="Maya Okafor", slug="maya")
    theo = creator_page(title="Theo Lindqvist", slug="theo")
    course_page(creator=maya, title="Weekday sourdough", topics=[topic("Baking")], lessons=0)
    course_page(creator=theo, title="SQL on Monday", topics=[topic("SQL")], lessons=0)
    course_page(creator=theo, title="Window functions", topics=[topic("SQL")], lessons=0)

    response = client.get(catalog.url, query)

    assert {course.title for course in response.context["courses"]} == expected
    if not expected:
        assert "No course matches these filters" in response.content.decode()


def test_catalog_paginates_and_keeps_the_filter_in_page_links(client):
    catalog = catalog_page()
    maya = creator_page(title="Maya Okafor", slug="maya")
    for n in range(14):
        course_page(creator=maya, title=f"Course {n}", lessons=0, publish=False)

    first = client.get(catalog.url, {"creator": "maya"})
    second = client.get(catalog.url, {"creator": "maya", "page": 2})

    assert len(first.context["courses"]) == 12
    assert len(second.context["courses"]) == 2
    assert "?creator=maya&amp;page=2" in first.content.decode()


def test_empty_catalog_says_so(client):
    catalog = catalog_page()

    assert "No courses yet" in client.get(catalog.url).content.decode()


def test_catalog_query_count_does_not_grow_with_courses(client, page_cache_off):
    catalog = catalog_page()
    creators = [creator_page(title=f"Creator {n}", slug=f"creator-{n}") for n in range(3)]
    topics = [topic("Baking"), topic("SQL")]

    def add_courses(start: int, stop: int) -> None:
        for n in range(start, stop):
            course_page(
                creator=creators[n % 3],
                title=f"Course {n}",
                topics=topics[: n % 3],
                lessons=0,
                publish=False,
            )

    add_courses(0, 5)
    queries_for(client, catalog.url)  # warm up: the site's root paths are cached afterwards
    with_five = queries_for(client, catalog.url)
    add_courses(5, 50)

    assert queries_for(client, catalog.url) == with_five


# A course page


def test_course_page_shows_the_offer_and_a_syllabus_without_lesson_bodies(client):
    maya = creator_page(title="Maya Okafor", slug="maya")
    course = course_page(
        creator=maya,
        title="Weekday sourdough",
        tagline="Bake around a working week.",
        outcomes=[("outcome", "Keep a starter alive"), ("outcome", "Bake on a Tuesday")],
        faq=[("question", {"question": "Do I need a scale?", "answer": rich_text("<p>Yes.</p>")})],
        lessons=2,
    )

    response = client.get(course.url)
    html = response.content.decode()

    assert response.status_code == 200
    assert "Bake around a working week." in html
    assert 'href="/maya/"' in html and "Maya Okafor" in html
    assert "Keep a starter alive" in html
    assert "Do I need a scale?" in html
    assert "Weekday sourdough: day 0" in html and "Day 1" in html and "10 min" in html
    assert body_sentence("Weekday sourdough: day 0") not in html
    assert body_sentence("Weekday sourdough: day 1") not in html
    assert "Enrol for free" in html
    assert reverse("courses:enroll", args=[course.pk]) in html


def test_paid_course_shows_price_and_a_buy_button_that_starts_checkout(client):
    course = course_page(title="SQL on Monday", price_amount=4900, currency="EUR")

    response = client.get(course.url)
    html = response.content.decode()

    assert "€49.00" in html
    assert f'action="{reverse("payments:buy_course", args=[course.pk])}"' in html
    assert "Enrol for free" not in html


def test_course_pages_are_private_and_not_stored_for_a_signed_in_visitor_shared_for_anonymous(
    client,
):
    paid = course_page(title="SQL on Monday", price_amount=4900)
    free = course_page(title="Weekday sourdough")

    # Anonymous visitors all see the same page (price and button): a shared cache may keep it.
    for course in (paid, free):
        anonymous_cache = client.get(course.url)["Cache-Control"]
        assert "public" in anonymous_cache and "no-store" not in anonymous_cache
    # A signed-in learner's page shows their own enrolment: nobody keeps a copy.
    client.force_login(learner())
    paid_cache = client.get(paid.url)["Cache-Control"]

    assert "private" in paid_cache and "no-store" in paid_cache
    assert "no-store" in client.get(free.url).get("Cache-Control", "")


def test_enrolled_learner_sees_progress_and_a_link_to_the_released_lesson(client):
    course = course_page(title="Weekday sourdough", lessons=3)
    user = learner()
    enroll(user, course)
    client.force_login(user)

    html = client.get(course.url).content.decode()

    assert "You are enrolled" in html
    assert 'class="progress"' in html and "0 of 3 lessons" in html
    day_0 = LessonPage.objects.get(title="Weekday sourdough: day 0")
    assert f'href="{day_0.url}"' in html
    assert "Enrol for free" not in html


def test_refunded_learner_is_told_so_on_the_course_page(client):
    course = course_page(title="SQL on Monday", price_amount=4900)
    user = learner()
    services.revoke(enrollment=enroll(user, course))
    client.force_login(user)

    html = client.get(course.url).content.decode()

    assert "This enrolment was refunded" in html
    assert 'class="progress"' not in html


@pytest.mark.parametrize("who", ["visitor", "learner"])
def test_course_page_query_count_does_not_grow_with_lessons(client, who, page_cache_off):
    def course_with(lessons: int) -> CoursePage:
        course = course_page(title=f"Course with {lessons}", lessons=lessons, publish=False)
        if who == "learner":
            user = learner()
            progress = enroll(user, course)
            for lesson in course.lessons()[:2]:
                services.complete_lesson(enrollment=progress, lesson=lesson)
            client.force_login(user)
        return course

    small = course_with(5)
    queries_for(client, small.url)  # warm up
    with_five = queries_for(client, small.url)
    large = course_with(50)

    assert queries_for(client, large.url) == with_five


# Lesson pages

# A signed-in learner's lesson page: the user (1), the enrolment (1), and its lessons' release
# times with its progress rows (1). The session, the site, the lesson page itself (kept by
# routing), the view restrictions, the course outline, the menu, the studio link and the lesson
# body come from the cache.
LESSON_PAGE_QUERIES = 3


def a_reader_of(lessons: int, client) -> LessonPage:
    """The day-0 lesson of a new course with ``lessons`` lessons, for a signed-in learner who
    completed it; the page has been read once, so its kept parts are in the cache."""
    course = course_page(title=f"Course with {lessons}", lessons=lessons, publish=False)
    user = learner()
    enrollment = enroll(user, course)
    lesson = course.lessons().first()
    # Published as a creator publishes it: its body is then kept per revision.
    lesson.save_revision().publish()
    services.complete_lesson(enrollment=enrollment, lesson=lesson)
    client.force_login(user)
    queries_for(client, lesson.url)
    return lesson


@pytest.mark.parametrize("page_cache", ["on", "off"])
def test_lesson_page_query_count_does_not_grow_with_lessons(client, page_cache, settings):
    settings.PAGE_CACHE = {**settings.PAGE_CACHE, "ENABLED": page_cache == "on"}
    with_five = queries_for(client, a_reader_of(5, client).url)

    assert queries_for(client, a_reader_of(50, client).url) == with_five


def test_lesson_page_reads_what_every_reader_sees_from_the_cache(
    client, django_assert_max_num_queries
):
    lesson = a_reader_of(5, client)

    with django_assert_max_num_queries(LESSON_PAGE_QUERIES):
        html = client.get(lesson.url).content.decode()

    assert body_sentence(lesson.title) in html
    assert "Lesson 1 of 5" in html


# Storefronts


def test_storefront_lists_its_live_courses_with_prices(client):
    theo = creator_page(title="Theo Lindqvist", slug="theo")
    course_page(creator=theo, title="SQL on Monday", price_amount=4900, lessons=0)
    course_page(creator=theo, title="Free SQL taster", lessons=0)
    course_page(creator=creator_page(title="Maya", slug="maya"), title="Rye bread", lessons=0)

    html = client.get(theo.url).content.decode()

    assert "SQL on Monday" in html and "€49.00" in html
    assert "Free SQL taster" in html and "Free" in html
    assert "Rye bread" not in html


# Page rules in the Wagtail admin


class CoursePageEditingTests(WagtailPageTestCase):
    """What editors may build, and the bad input the page editor refuses (nothing saved)."""

    def setUp(self):
        self.login()
        self.creator = creator_page(title="Maya Okafor", slug="maya")
        self.course = course_page(creator=self.creator, lessons=1)

    def test_page_type_rules(self):
        self.assertAllowedParentPageTypes(CourseIndexPage, {home_page().specific_class})
        self.assertAllowedParentPageTypes(CoursePage, {CreatorPage})
        self.assertAllowedParentPageTypes(LessonPage, {CoursePage})
        self.assertAllowedSubpageTypes(CoursePage, {LessonPage})
        self.assertAllowedSubpageTypes(CreatorPage, {CoursePage, WorkshopPage})

    def lesson_data(self, day):
        return nested_form_data(
            {
                "title": "Shaping",
                "slug": "shaping",
                "day": day,
                "estimated_minutes": 12,
                "summary": "",
                "body": streamfield([("text", rich_text("<p>Fold, then shape.</p>"))]),
            }
        )

    def test_editor_can_add_a_lesson(self):
        self.assertCanCreate(self.course, LessonPage, self.lesson_data(day=1))

    def test_lesson_day_below_zero_is_refused_and_nothing_is_created(self):
        url = reverse("wagtailadmin_pages:add", args=["courses", "lessonpage", self.course.pk])
        data = {**self.lesson_data(day=-1), "action-publish": "action-publish"}

        response = self.client.post(url, data)

        assert response.status_code == 200
        assert "day" in response.context["form"].errors
        assert not LessonPage.objects.filter(slug="shaping").exists()

    def test_cohort_course_without_a_start_date_is_refused(self):
        url = reverse("wagtailadmin_pages:add", args=["courses", "coursepage", self.creator.pk])
        data = nested_form_data(
            {
                "title": "Cohort sourdough",
                "slug": "cohort-sourdough",
                "tagline": "",
                "description": streamfield([]),
                "price_amount": 0,
                "currency": "EUR",
                "schedule_mode": "cohort",
                "cohort_start_date": "",
                "outcomes": streamfield([]),
                "faq": streamfield([]),
                "action-publish": "action-publish",
            }
        )

        response = self.client.post(url, data)

        assert response.status_code == 200
        assert "cohort_start_date" in response.context["form"].errors
        assert not CoursePage.objects.filter(slug="cohort-sourdough").exists()

    def test_cohort_course_with_a_start_date_is_created(self):
        self.assertCanCreate(
            self.creator,
            CoursePage,
            nested_form_data(
                {
                    "title": "Cohort sourdough",
                    "tagline": "",
                    "description": streamfield([]),
                    "price_amount": 0,
                    "currency": "EUR",
                    "schedule_mode": "cohort",
                    "cohort_start_date": datetime.date(2026, 1, 5).isoformat(),
                    "outcomes": streamfield([]),
                    "faq": streamfield([]),
                }
            ),
        )

    def test_lesson_preview_shows_the_body_to_the_editor(self):
        # The editor is not enrolled: the preview still shows the body being written.
        lesson = self.course.lessons().get()
        url = reverse("wagtailadmin_pages:preview_on_edit", args=[lesson.pk])
        assert self.client.post(url, self.lesson_data(day=0)).json()["is_valid"]

        html = self.client.get(url).content.decode()

        assert "Fold, then shape." in html

    def test_pages_render(self):
        self.assertPageIsRenderable(catalog_page())
        self.assertPageIsRenderable(self.course)
        self.assertPageIsRenderable(self.course.lessons().get())


def test_catalog_is_found_at_courses_beside_the_course_actions(client):
    catalog = catalog_page()

    assert catalog.url == "/courses/"
    assert client.get("/courses/").status_code == 200
    assert Page.objects.filter(slug="courses").count() == 1
    assert not Enrollment.objects.exists()


def test_demo_content_builds_the_catalog_once(client):
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())

    html = client.get("/courses/").content.decode()

    assert "Weekday sourdough" in html and "Free" in html
    assert "SQL you’ll use on Monday" in html and "€49.00" in html
    assert CoursePage.objects.count() == 2
    assert LessonPage.objects.count() == 5 + 7
    assert Enrollment.objects.get().learner.email == "learner@example.com"
