"""The site's own pages: home, storefronts, standard pages, search, sitemap, robots.txt, errors."""

from urllib.robotparser import RobotFileParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from wagtail.models import Page
from wagtail.test.utils import WagtailPageTestCase
from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield

from home.models import CreatorPage, HomePage, StandardPage
from tests.accounts.factories import UserFactory
from tests.home.factories import creator_page, home_page, standard_page
from tests.workshops.factories import a_learner, workshop_page
from workshops import services as workshop_services

pytestmark = pytest.mark.django_db


def test_migration_makes_the_home_page_the_site_root(client):
    response = client.get("/")

    assert response.status_code == 200
    assert isinstance(response.context["page"], HomePage)
    assert "Learn from people who know" in response.content.decode()


def test_home_page_lists_creator_storefronts_and_menu_pages(client):
    creator_page(title="Maya Okafor", slug="maya")
    standard_page(title="About", slug="about")

    html = client.get("/").content.decode()

    assert 'href="/maya/"' in html
    assert 'href="/about/"' in html


def test_creator_storefront_shows_the_creator(client):
    page = creator_page(title="Theo Lindqvist", slug="theo", niche="Practical SQL")

    response = client.get(page.url)

    assert response.status_code == 200
    assert "Practical SQL" in response.content.decode()


def test_home_page_query_count_does_not_grow_with_creators(client, page_cache_off):
    def queries_for_home_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/").status_code == 200
        return len(captured)

    creator_page(title="Creator 0", slug="creator-0")
    queries_for_home_page()  # warm up: the site lookup is cached after the first request
    with_one = queries_for_home_page()
    for n in range(1, 10):
        creator_page(title=f"Creator {n}", slug=f"creator-{n}")

    assert queries_for_home_page() == with_one


def test_search_finds_a_creator_and_paginates(client):
    creator_page(title="Theo Lindqvist", slug="theo", niche="Practical SQL for analysts")

    response = client.get(reverse("search"), {"query": "SQL"})

    assert response.status_code == 200
    assert [page.title for page in response.context["search_results"]] == ["Theo Lindqvist"]


def test_search_with_no_query_shows_the_form_only(client):
    response = client.get(reverse("search"))

    assert response.status_code == 200
    assert list(response.context["search_results"]) == []


def test_sitemap_lists_live_pages(client):
    creator_page(title="Maya Okafor", slug="maya")

    response = client.get("/sitemap.xml")

    assert response.status_code == 200
    assert "/maya/" in response.content.decode()


def test_robots_txt_keeps_crawlers_out_of_private_areas_and_names_the_sitemap(client):
    response = client.get("/robots.txt", HTTP_HOST="courses.example.com", secure=True)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "public" in response["Cache-Control"]
    assert "max-age=86400" in response["Cache-Control"]
    robots = RobotFileParser()
    robots.parse(response.content.decode().splitlines())
    # Python's parser takes the first matching rule, the strictest reading of the file.
    for private in ("/admin/", "/django-admin/", "/studio/", "/dashboard/", "/accounts/login/"):
        assert not robots.can_fetch("*", private), private
    assert not robots.can_fetch("*", "/payments/courses/1/buy/")
    for public in ("/", "/courses/", "/maya/weekday-sourdough/", "/sitemap.xml"):
        assert robots.can_fetch("*", public), public
    # Absolute, on the scheme and host the crawler asked for.
    assert robots.site_maps() == ["https://courses.example.com/sitemap.xml"]


def test_robots_txt_goes_through_the_whole_middleware_stack_unlike_healthz(client, settings):
    # The drill measures pages beside it (tests/drill/run.py): it must cost what any view costs.
    settings.ALLOWED_HOSTS = ["courses.example.com"]

    assert client.get("/robots.txt", HTTP_HOST="10.0.3.7").status_code == 400
    robots = client.get("/robots.txt", HTTP_HOST="courses.example.com")
    healthz = client.get("/healthz", HTTP_HOST="courses.example.com")
    # Set by the clickjacking middleware, near the end of MIDDLEWARE; /healthz never gets there.
    assert robots["X-Frame-Options"] == "DENY"
    assert "X-Frame-Options" not in healthz


def test_unknown_page_gets_the_site_404(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "We couldn’t find that page" in response.content.decode()


def test_dashboard_requires_sign_in_and_shows_an_empty_state(client):
    assert client.get(reverse("dashboard"))["Location"].startswith(reverse("account_login"))

    client.force_login(UserFactory())
    html = client.get(reverse("dashboard")).content.decode()

    assert "My learning" in html
    assert "Nothing here yet" in html


class PageTreeRulesTests(WagtailPageTestCase):
    """Where each page type may live, checked the way Wagtail's own editors would hit it."""

    def setUp(self):
        self.login()
        self.home = home_page()

    def test_page_type_parents(self):
        self.assertAllowedParentPageTypes(HomePage, {Page})
        self.assertAllowedParentPageTypes(CreatorPage, {HomePage})
        self.assertAllowedParentPageTypes(StandardPage, {HomePage, StandardPage})

    def test_editor_can_create_a_standard_page_with_a_body(self):
        self.assertCanCreate(
            self.home,
            StandardPage,
            nested_form_data(
                {
                    "title": "Terms",
                    "slug": "terms",
                    "introduction": "Plain words.",
                    "body": streamfield([("paragraph", rich_text("<p>Be kind.</p>"))]),
                }
            ),
        )

    def test_home_page_renders(self):
        self.assertPageIsRenderable(self.home)


def test_dashboard_shows_a_workshop_seat_without_the_course_empty_state(client):
    learner = a_learner()
    workshop = workshop_page(title="Live shaping session")
    workshop_services.register_free(learner=learner, workshop=workshop)
    client.force_login(learner)

    html = client.get(reverse("dashboard")).content.decode()

    assert "Live shaping session" in html
    assert "Add to calendar (.ics)" in html
    assert "Nothing here yet" not in html


def test_every_page_links_to_the_creator_application(client):
    html = client.get("/").content.decode()

    assert f'href="{reverse("studio_apply")}"' in html
