from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponsePermanentRedirect
from django.template.response import TemplateResponse
from django.templatetags.static import static
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

    A fixed number of queries however many courses and workshops: one page of enrolments,
    their progress in two more (``courses.selectors.progress_for``), and the workshops in
    three (``workshops.selectors.learner_workshops``).
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
