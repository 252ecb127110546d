"""The anonymous page cache: what it stores, who bypasses it, and that no page is ever stale.

Real Redis (the "pages" cache alias), real pages and services; each test has its own keys.
"""

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from wagtail.models import PageViewRestriction, Site

from config import pagecache
from config.pagecache.middleware import HIT_HEADER, AnonymousPageCacheMiddleware
from courses import services as course_services
from courses.models import CoursePage, LessonPage
from tests.courses.factories import (
    body_sentence,
    catalog_page,
    course_page,
    enroll,
    learner,
    lesson_body,
)
from tests.home.factories import creator_page, home_page, standard_page
from tests.workshops.factories import a_learner, index_page, republish, workshop_page
from workshops import services as workshop_services

pytestmark = pytest.mark.django_db


def fetch(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response


def warm(client, url: str):
    """The first visit makes the path's token, the second stores the page, the third hits."""
    fetch(client, url)
    fetch(client, url)
    response = fetch(client, url)
    assert response[HIT_HEADER] == "hit"
    return response


def directives(response) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part}


# What is stored, with which headers


def test_an_anonymous_page_is_served_from_the_cache_with_headers_for_a_cdn(client):
    course = course_page(title="Weekday sourdough", price_amount=4900, currency="EUR")

    first = fetch(client, course.url)
    hit = warm(client, course.url)

    assert hit.content == first.content
    assert "€49.00" in hit.content.decode()
    assert {"public", "max-age=0", "s-maxage=300"} <= directives(hit)
    assert "Cookie" in hit["Vary"]
    assert hit["Content-Type"].startswith("text/html")
    # Nothing personal on it: no CSRF token, and no cookie set.
    assert "csrfmiddlewaretoken" not in hit.content.decode()
    assert not first.cookies and not hit.cookies


def test_every_public_page_kind_is_cached(client):
    catalog = catalog_page()
    index = index_page()
    course = course_page(title="Weekday sourdough")
    workshop = workshop_page(title="Croissants, live")
    storefront = course.get_parent()

    for url in ("/", catalog.url, index.url, course.url, workshop.url, storefront.url, "/search/"):
        warm(client, url)


def test_a_search_with_a_query_is_not_stored(client):
    course_page(title="Weekday sourdough")

    for _ in range(3):
        response = fetch(client, "/search/?query=sourdough")

    assert HIT_HEADER not in response


def test_time_zones_are_cached_apart(client):
    workshop = workshop_page(title="Croissants, live")
    warm(client, workshop.url)

    client.cookies["tz"] = "Asia/Tokyo"
    tokyo = fetch(client, workshop.url)

    assert tokyo[HIT_HEADER] == "miss"
    assert "(Asia/Tokyo)" in tokyo.content.decode()


def test_a_workshop_starting_soon_is_kept_only_until_it_starts(client):
    soon = (timezone.now() + timedelta(seconds=90)).replace(microsecond=0)
    workshop = workshop_page(starts_at=soon)

    response = warm(client, workshop.url)

    max_seconds = int(next(d for d in directives(response) if d.startswith("s-maxage="))[9:])
    assert 0 < max_seconds <= 90


# Who bypasses it


def test_a_signed_in_visitor_bypasses_the_cache_and_gets_a_private_page(client):
    course = course_page(title="Weekday sourdough")
    warm(client, course.url)
    client.force_login(learner())

    response = fetch(client, course.url)

    assert HIT_HEADER not in response
    assert {"private", "no-store"} <= directives(response)
    assert "Sign out" in response.content.decode()


def test_an_anonymous_visitor_with_a_session_or_a_message_bypasses_the_cache(client):
    catalog = catalog_page()
    warm(client, catalog.url)

    client.cookies["sessionid"] = "someone-anonymous"
    with_session = fetch(client, catalog.url)
    del client.cookies["sessionid"]
    client.cookies["messages"] = "a-pending-message"
    with_message = fetch(client, catalog.url)

    for response in (with_session, with_message):
        assert HIT_HEADER not in response
        assert "private" in directives(response)
        assert "public" not in directives(response)


def test_a_message_is_shown_not_a_cached_page(client):
    course = course_page(title="Weekday sourdough")
    warm(client, course.url)

    # An anonymous Enrol click: sent to sign in; a message for them is now pending.
    response = client.post(reverse("workshops:register", args=[workshop_page().pk]))
    assert response.status_code == 302
    page = client.get(response["Location"], follow=True)

    assert "Sign in first, then try again." in page.content.decode()


# The buttons of a cached page


def test_an_anonymous_button_needs_no_csrf_token_but_a_signed_in_one_does(client):
    course = course_page(title="Weekday sourdough")
    client_with_checks = type(client)(enforce_csrf_checks=True)

    anonymous = client_with_checks.post(reverse("courses:enroll", args=[course.pk]))
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("account_login"))

    client_with_checks.force_login(learner())
    signed_in = client_with_checks.post(reverse("courses:enroll", args=[course.pk]))
    assert signed_in.status_code == 403
    assert not course.enrollments.exists()


# Never stale


def test_a_price_change_shows_at_once_on_every_page_that_shows_the_price(client):
    course = course_page(title="Weekday sourdough", price_amount=4900, currency="EUR")
    storefront_url = course.get_parent().url
    for url in (course.url, storefront_url):
        assert "€49.00" in warm(client, url).content.decode()

    course = CoursePage.objects.get(pk=course.pk)
    course.price_amount = 2900
    course.save_revision().publish()

    for url in (course.url, storefront_url):
        html = fetch(client, url).content.decode()
        assert "€29.00" in html and "€49.00" not in html


def test_publishing_a_course_shows_it_at_once_on_catalog_storefront_and_search(client):
    catalog = catalog_page()
    storefront = creator_page(title="Theo Lindqvist", slug="theo")
    course_page(creator=storefront, title="Weekday sourdough")
    for url in (catalog.url, storefront.url, "/search/"):
        warm(client, url)

    course_page(creator=storefront, title="SQL on Monday")

    assert "SQL on Monday" in fetch(client, catalog.url).content.decode()
    assert "SQL on Monday" in fetch(client, storefront.url).content.decode()


def test_unpublishing_a_course_removes_it_at_once(client):
    catalog = catalog_page()
    course = course_page(title="Weekday sourdough")
    warm(client, catalog.url)
    warm(client, course.url)

    course.unpublish()

    assert client.get(course.url).status_code == 404
    assert "Weekday sourdough" not in fetch(client, catalog.url).content.decode()


def test_selling_the_last_seat_shows_sold_out_at_once(client):
    index = index_page()
    workshop = workshop_page(title="Croissants, live", capacity=1)
    assert "1 seat left" in warm(client, workshop.url).content.decode()
    assert "1 seat left" in warm(client, index.url).content.decode()

    workshop_services.register_free(learner=a_learner(), workshop=workshop)

    assert "Sold out" in fetch(client, workshop.url).content.decode()
    assert "Sold out" in fetch(client, index.url).content.decode()


def test_a_seat_given_back_shows_at_once(client):
    workshop = workshop_page(title="Croissants, live", capacity=1)
    registration = workshop_services.register_free(learner=a_learner(), workshop=workshop)
    assert "Sold out" in warm(client, workshop.url).content.decode()

    workshop_services.cancel_registration(registration=registration)

    assert "1 seat left" in fetch(client, workshop.url).content.decode()


def test_a_capacity_change_shows_at_once(client):
    workshop = workshop_page(title="Croissants, live", capacity=3, publish=True)
    assert "3 seats left" in warm(client, workshop.url).content.decode()

    republish(workshop, capacity=5)

    assert "5 seats left" in fetch(client, workshop.url).content.decode()


def test_a_slug_change_or_a_move_leaves_no_copy_at_the_old_url(
    client, django_capture_on_commit_callbacks
):
    course = course_page(title="Weekday sourdough")
    old_url = course.url
    warm(client, old_url)

    with django_capture_on_commit_callbacks(execute=True):
        course = CoursePage.objects.get(pk=course.pk)
        course.slug = "weekday-bread"
        course.save_revision().publish()
    gone = client.get(old_url)
    # Wagtail's redirects app sends the old URL to the new one; no stored copy answers it.
    assert gone.status_code == 301 and gone["Location"].endswith("/weekday-bread/")

    course = CoursePage.objects.get(pk=course.pk)
    moved_url = course.url
    warm(client, moved_url)
    course.move(creator_page(title="Theo Lindqvist", slug="theo"), pos="last-child")
    moved_away = client.get(moved_url)
    assert moved_away.status_code in (301, 404)
    assert HIT_HEADER not in moved_away


def test_deleting_a_page_leaves_no_copy(client):
    catalog = catalog_page()
    course = course_page(title="Weekday sourdough")
    url = course.url
    warm(client, url)
    warm(client, catalog.url)

    course.delete()

    assert client.get(url).status_code == 404
    assert "Weekday sourdough" not in fetch(client, catalog.url).content.decode()


def test_purge_pages_showing_purges_the_page_its_ancestors_and_listings(client):
    catalog = catalog_page()
    course = course_page(title="Weekday sourdough")
    urls = ["/", catalog.url, course.get_parent().url, course.url]
    for url in urls:
        warm(client, url)

    pagecache.purge_pages_showing(course)

    for url in urls:
        assert fetch(client, url)[HIT_HEADER] == "miss"


def test_a_rendering_that_raced_with_a_purge_is_never_served(settings):
    """A purge while a page renders: that rendering may show the old state, so it is not
    kept as current even though it is stored."""
    home_page()
    renders = []

    def view_that_sees_a_purge_midway(request):
        renders.append(request.path)
        if len(renders) == 2:
            pagecache.purge_paths([request.path])  # the change commits while we render
        pagecache.cacheable(request)
        return HttpResponse(f"render {len(renders)}")

    middleware = AnonymousPageCacheMiddleware(view_that_sees_a_purge_midway)
    request = RequestFactory().get

    middleware(request("/about/"))  # makes the token
    middleware(request("/about/"))  # renders, purged midway, stored under the old token
    third = middleware(request("/about/"))

    assert isinstance(third, HttpResponse) and third.content == b"render 3"
    assert third[HIT_HEADER] == "miss"


@pytest.mark.django_db(transaction=True)
def test_a_seat_sold_in_a_committed_transaction_shows_at_once(client):
    """With real commits: the purge after commit catches a rendering made in between."""
    workshop = workshop_page(title="Croissants, live", capacity=1)
    assert "1 seat left" in warm(client, workshop.url).content.decode()

    workshop_services.register_free(learner=a_learner(), workshop=workshop)

    assert "Sold out" in fetch(client, workshop.url).content.decode()


# Fragments of signed-in pages


def test_a_lesson_body_is_kept_per_revision_and_a_new_revision_shows_at_once(client):
    course = course_page(title="Weekday sourdough", lessons=1)
    reader = learner()
    enroll(reader, course)
    client.force_login(reader)
    lesson = LessonPage.objects.child_of(course).get(day=0)
    first = fetch(client, lesson.url).content.decode()
    assert body_sentence(lesson.title) in first
    # Stored after the first reading: asking again does not render it.
    kept = pagecache.cached_fragment(
        "lesson-body",
        lesson.pk,
        lesson.live_revision_id,
        lesson.last_published_at.isoformat(),
        render=lambda: "rendered again",
    )
    assert body_sentence(lesson.title) in kept

    lesson.body = lesson_body("Fold the dough four times tonight.")
    lesson.save_revision().publish()

    html = fetch(client, lesson.url).content.decode()
    assert "Fold the dough four times tonight." in html
    assert body_sentence(lesson.title) not in html


def test_a_lesson_renamed_or_unpublished_shows_at_once_in_the_outline_of_signed_in_pages(client):
    """The course outline (lesson titles and links) is kept until a lesson or the course
    changes: the next signed-in page after a publish or an unpublish shows the change."""
    course = course_page(title="Weekday sourdough", lessons=2)
    reader = learner()
    enroll(reader, course)
    client.force_login(reader)
    first, second = course.lessons()
    assert f"{second.title} →" in fetch(client, first.url).content.decode()
    assert second.title in fetch(client, course.url).content.decode()  # both outlines kept

    second.title = "Shape the loaf"
    second.save_revision().publish()

    assert "Shape the loaf →" in fetch(client, first.url).content.decode()
    assert "Shape the loaf" in fetch(client, course.url).content.decode()

    second.unpublish()

    lesson_html = fetch(client, first.url).content.decode()
    assert "Shape the loaf" not in lesson_html
    assert "Lesson 1 of 1" in lesson_html
    assert "Shape the loaf" not in fetch(client, course.url).content.decode()


def test_which_page_a_url_names_is_kept_and_follows_every_change_at_once(client):
    """Routing keeps which page a URL path names: for a signed-in reader (no page cache), a lesson
    unpublished, renamed or deleted, and a page created where there was none, show at once."""
    course = course_page(title="Weekday sourdough", lessons=2)
    first, second = course.lessons()
    client.force_login(learner())
    second_url = second.url
    assert fetch(client, second_url).status_code == 200  # kept now (a lesson: the page itself)
    missing_url = f"{course.url}shape-the-loaf/"
    assert client.get(missing_url).status_code == 404  # nothing kept for it

    second.title = "Fold the dough"
    second.save_revision().publish()
    assert "<h1>Fold the dough</h1>" in fetch(client, second_url).content.decode()

    second.unpublish()
    assert client.get(second_url).status_code == 404

    second = LessonPage.objects.get(pk=second.pk)
    second.slug = "shape-the-loaf"
    second.save_revision().publish()
    assert fetch(client, missing_url).status_code == 200
    # Wagtail's redirects app sends the old URL on; the kept route doesn't serve it.
    assert client.get(second_url).status_code in (301, 404)

    LessonPage.objects.get(pk=second.pk).delete()
    assert client.get(missing_url).status_code == 404
    assert fetch(client, first.url).status_code == 200


def test_a_new_menu_page_shows_at_once_to_a_signed_in_visitor(client):
    course = course_page(title="Weekday sourdough", lessons=1)
    client.force_login(learner())
    lesson = LessonPage.objects.child_of(course).get(day=0)
    assert "About us" not in fetch(client, reverse("dashboard")).content.decode()  # menu kept

    standard_page(title="About us", slug="about", show_in_menus=True)

    assert ">About us</a>" in fetch(client, reverse("dashboard")).content.decode()
    assert ">About us</a>" in fetch(client, lesson.url).content.decode()


def test_a_learner_sees_only_their_own_progress_on_pages_that_share_cached_parts(client):
    course = course_page(title="Weekday sourdough", lessons=2)
    ahead, behind = learner(), learner()
    ahead_enrollment = enroll(ahead, course)
    enroll(behind, course)
    lesson = course.lessons().first()
    course_services.complete_lesson(enrollment=ahead_enrollment, lesson=lesson)

    pages = {}
    for reader in (ahead, behind, ahead):  # the second reading of each uses the kept parts
        client.force_login(reader)
        pages[reader.pk] = [fetch(client, url).content.decode() for url in (lesson.url, course.url)]

    ahead_lesson, ahead_course = pages[ahead.pk]
    behind_lesson, behind_course = pages[behind.pk]
    assert "You completed this lesson." in ahead_lesson
    assert "1 of 2 lessons" in ahead_lesson and "1 of 2 lessons" in ahead_course
    assert "You completed this lesson." not in behind_lesson
    assert "Mark complete" in behind_lesson
    assert "0 of 2 lessons" in behind_lesson and "0 of 2 lessons" in behind_course
    assert 'class="done"' in ahead_course and 'class="done"' not in behind_course


def test_a_kept_value_rendered_while_its_path_was_purged_is_never_read():
    def render_while_purged() -> str:
        pagecache.purge_paths(["/race/"])
        return "before the purge"

    first = pagecache.kept_until_purged("race", path="/race/", key=1, render=render_while_purged)
    again = pagecache.kept_until_purged("race", path="/race/", key=1, render=lambda: "after")
    kept = pagecache.kept_until_purged("race", path="/race/", key=1, render=lambda: "not read")

    assert (first, again, kept) == ("before the purge", "after", "after")


def test_a_new_view_restriction_takes_effect_at_once_for_signed_in_and_anonymous_readers(client):
    """Pages skip Wagtail's restriction queries while none exists; the first one counts."""
    course = course_page(title="Weekday sourdough", lessons=1)
    lesson = course.lessons().first()
    reader = learner()
    enroll(reader, course)
    warm(client, course.url)  # an anonymous copy of the course page is stored
    client.force_login(reader)
    assert body_sentence(lesson.title) in fetch(client, lesson.url).content.decode()

    restriction = PageViewRestriction.objects.create(
        page=course, restriction_type=PageViewRestriction.PASSWORD, password="rye"
    )

    html = fetch(client, lesson.url).content.decode()
    assert 'name="password"' in html and body_sentence(lesson.title) not in html
    client.logout()
    assert 'name="password"' in fetch(client, course.url).content.decode()  # not the copy

    restriction.delete()

    client.force_login(reader)
    assert body_sentence(lesson.title) in fetch(client, lesson.url).content.decode()


def test_the_studio_link_shows_at_once_to_a_new_creator_and_to_nobody_else(client):
    new_creator, other = learner(), learner()
    client.force_login(new_creator)
    studio = f'href="{reverse("studio_dashboard")}"'
    assert studio not in fetch(client, reverse("dashboard")).content.decode()  # kept: "no"

    storefront = creator_page(title="Theo Lindqvist", slug="theo", creator=new_creator)

    assert studio in fetch(client, reverse("dashboard")).content.decode()
    client.force_login(other)
    assert studio not in fetch(client, reverse("dashboard")).content.decode()

    storefront.delete()

    client.force_login(new_creator)
    assert studio not in fetch(client, reverse("dashboard")).content.decode()


def test_a_site_change_is_followed_at_once(client):
    """The request's site and its home page are kept; saving the Site purges them."""
    about = standard_page(title="About us", slug="about-us")
    client.force_login(learner())
    fetch(client, "/")
    # The second request reads the kept site.
    assert "<h1>About us</h1>" not in fetch(client, "/").content.decode()
    site = Site.objects.get(is_default_site=True)
    home = site.root_page

    site.root_page = about
    site.save()

    assert "<h1>About us</h1>" in fetch(client, "/").content.decode()
    site.root_page = home
    site.save()
    assert "<h1>About us</h1>" not in fetch(client, "/").content.decode()


def test_a_signed_in_lesson_page_asks_no_query_for_the_site_restrictions_or_studio_link(client):
    course = course_page(title="Weekday sourdough", lessons=1)
    lesson = course.lessons().first()
    reader = learner()
    enroll(reader, course)
    client.force_login(reader)
    fetch(client, lesson.url)
    fetch(client, lesson.url)

    with CaptureQueriesContext(connection) as captured:
        fetch(client, lesson.url)

    tables = " ".join(query["sql"] for query in captured.captured_queries)
    assert "wagtailcore_site" not in tables
    assert "wagtailcore_pageviewrestriction" not in tables
    assert "home_creatorpage" not in tables
    # Read once with the progress, not again for the first opening.
    assert tables.count('FROM "courses_lessonprogress"') == 1


def test_a_signed_in_page_reads_its_session_from_the_cache(client):
    """cached_db sessions: no session query once the session is in the cache."""
    client.force_login(learner())
    fetch(client, reverse("dashboard"))

    with CaptureQueriesContext(connection) as captured:
        fetch(client, reverse("dashboard"))

    assert not [query for query in captured if "django_session" in query["sql"]]


# A caching proxy in front


@pytest.fixture
def purging_proxy():
    """A loopback HTTP server that records the PURGE requests a proxy would get."""
    purged: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_PURGE(self):
            purged.append((self.headers["Host"], self.path))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", purged
    finally:
        server.shutdown()
        server.server_close()


def test_with_a_proxy_configured_its_copies_are_purged_after_commit(
    settings, purging_proxy, django_capture_on_commit_callbacks
):
    location, purged = purging_proxy
    settings.WAGTAILFRONTENDCACHE = {
        "proxy": {
            "BACKEND": "wagtail.contrib.frontend_cache.backends.HTTPBackend",
            "LOCATION": location,
        }
    }
    catalog = catalog_page()
    course = course_page(title="Weekday sourdough", price_amount=4900)

    with django_capture_on_commit_callbacks(execute=True):
        course = CoursePage.objects.get(pk=course.pk)
        course.price_amount = 2900
        course.save_revision().publish()
        assert purged == []  # nothing leaves before the commit

    paths = {path for _host, path in purged}
    assert {course.url, course.get_parent().url, catalog.url, "/"} <= paths
    assert {host for host, _path in purged} == {"localhost"}
