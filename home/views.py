from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponsePermanentRedirect
from django.template.response import TemplateResponse
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import cache_control
from wagtail.models import Page

from config import pagecache
from config.cards import Card
from courses import selectors as course_selectors
from courses.models import CoursePage
from courses.selectors import course_cards
from home.models import CreatorPage
from workshops import selectors as workshop_selectors
from workshops.models import WorkshopPage

SEARCH_RESULTS_PER_PAGE = 10
DASHBOARD_COURSES_PER_PAGE = 20
# Nothing for a search engine behind these: the admins, sign-in and personal pages, payments.
ROBOTS_DISALLOW = (
    "/admin/",
    "/django-admin/",
    "/studio/",
    "/dashboard/",
    "/accounts/",
    "/payments/",
)
ROBOTS_MAX_AGE = 24 * 60 * 60


def search(request):
    query = request.GET.get("query", "").strip()
    if not query:
        # The empty search form is the same for everyone; results are not kept.
        pagecache.cacheable(request)
    results = (
        Page.objects.live().public().specific().search(query) if query else Page.objects.none()
    )
    page = Paginator(results, SEARCH_RESULTS_PER_PAGE).get_page(request.GET.get("page"))
    return TemplateResponse(
        request,
        "home/search.html",
        {"search_query": query, "search_results": page, "cards": search_cards(list(page))},
    )


def search_cards(results: list[Page]) -> list[Card]:
    """The shared card of each result, in the results' order; a few queries for the page."""
    courses = [page for page in results if isinstance(page, CoursePage)]
    workshops = [page for page in results if isinstance(page, WorkshopPage)]
    cards: dict[int, Card] = {card.page.pk: card for card in course_cards(courses)}
    cards.update(
        (item.workshop.pk, item.card) for item in workshop_selectors.workshop_cards(workshops)
    )
    for page in results:
        if isinstance(page, CreatorPage):
            cards[page.pk] = page.card
        elif page.pk not in cards:
            summary = page.search_description or getattr(page, "introduction", "")
            cards[page.pk] = Card(page=page, kind="page", summary=summary)
    return [cards[page.pk] for page in results]


# It shows workshop join links and the learner's courses: for this reader, never stored.
@cache_control(private=True, no_store=True)
@login_required
def dashboard(request):
    """ "My learning": the signed-in learner's courses and workshops.

    A fixed number of queries however many courses and workshops: one page of enrolments
    (and its count), their progress in one more (``courses.selectors.progress_for``; their
    courses' outlines are kept), and the workshops in two, three when there are any
    (``workshops.selectors.learner_workshops``).
    """
    enrollments = Paginator(
        course_selectors.dashboard_enrollments(learner=request.user), DASHBOARD_COURSES_PER_PAGE
    ).get_page(request.GET.get("page"))
    return TemplateResponse(
        request,
        "home/dashboard.html",
        {
            "courses": course_selectors.progress_for(enrollments.object_list, request=request),
            "courses_page": enrollments,
            "learner_workshops": workshop_selectors.learner_workshops(learner=request.user),
        },
    )


def favicon(request):
    return HttpResponsePermanentRedirect(static("img/favicon.ico"))


# The same for every visitor and rarely changed: a crawler or a CDN may keep it a day.
@cache_control(public=True, max_age=ROBOTS_MAX_AGE)
def robots_txt(request):
    """What crawlers may fetch, and the sitemap's absolute address on the host they asked.

    The Disallow lines come before ``Allow: /`` so that a crawler taking the first matching
    rule (the original 1994 convention) reads them as one taking the longest (RFC 9309) does.
    """
    lines = [
        "User-agent: *",
        *(f"Disallow: {path}" for path in ROBOTS_DISALLOW),
        "Allow: /",
        "",
        f"Sitemap: {request.build_absolute_uri(reverse('sitemap'))}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
